//! Plans the operations that turn the base into the result, front to back.
//!
//! Tensors of the result are matched to tensors of the base (identical content, then name,
//! then layout, size and position); each is copied, coded as a residual against its match in
//! its own element domain, or coded plainly, whichever the model prices cheapest. Everything
//! else (and tensors too small to be worth an operation) is opaque glue, planned like a delta
//! compressor: runs aligned with the base (coded as residuals, with word-typed residuals
//! where the changed bytes are numbers), copies from the base or from the result written so
//! far, and literals.

use std::collections::HashMap;

use mallorn_runtime::codec::layout::LayoutId;
use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::smallest::Profile;

mod aligned;
mod glue;
mod segments;
mod tensors;

use super::matcher::MatchFinder;
use super::pricing::Pricer;
use crate::model::{ModelMap, Region};
use tensors::usable_layout;

/// Tensors below this size stay in the glue: an operation of their own costs more than it saves.
const SMALL_TENSOR: u64 = 64;
/// Exact runs inside an aligned stretch at least this long become copies.
const COPY_MIN: u64 = 32;
/// Base matches at one alignment separated by at most this many other bytes are merged.
const ALIGN_GAP: u64 = 16;
/// Shortest matches worth an operation: at a recent alignment or distance, elsewhere in the
/// base, elsewhere in the result.
const MIN_REPEAT_MATCH: u64 = 3;
const MIN_BASE_MATCH: u64 = 6;
const MIN_RESULT_MATCH: u64 = 5;
/// Tensors above this size are priced on samples of this many bytes.
const SAMPLE_BYTES: u64 = 128 * 1024;
/// Bases up to this size are indexed in full for glue matches; larger ones only in their glue.
const FULL_INDEX_LIMIT: u64 = 64 << 20;
/// Index at most about this many positions; beyond it, index every n-th position.
const INDEX_BUDGET: u64 = 4 << 20;
/// Base matches at one alignment are merged across a gap up to this long when at least one
/// gap byte in [`MERGE_SIMILARITY`] still matches the base.
const MERGE_GAP_MAX: u64 = 512;
const MERGE_SIMILARITY: u64 = 8;
/// Copies from the base at least this long stay operations of their own next to LZ runs.
const LONG_COPY: u64 = 512;

/// How hard the planner searches for matches in glue: the encoder's `effort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Search {
    /// Hash-chain candidates visited per match search.
    pub chain: usize,
    /// Whether a match is deferred when the next byte starts a clearly better one.
    pub lazy: bool,
}

impl Search {
    /// `effort = "default"`: what bundles have always been built with.
    pub const DEFAULT: Self = Self {
        chain: super::matcher::MAX_CHAIN,
        lazy: true,
    };
    /// `effort = "fast"`.
    pub const FAST: Self = Self {
        chain: 4,
        lazy: false,
    };
    /// `effort = "max"`.
    pub const MAX: Self = Self {
        chain: 1024,
        lazy: true,
    };
}

/// Plans `base -> target` using both files' maps. Returns the operations, which produce the
/// target front to back.
pub fn plan(
    base: &[u8],
    target: &[u8],
    base_map: &ModelMap<'_>,
    target_map: &ModelMap<'_>,
    profile: Profile,
) -> Vec<Op> {
    plan_with(
        base,
        target,
        base_map,
        target_map,
        profile,
        Search::DEFAULT,
        super::DEFAULT_CHUNK_LEN,
    )
}

/// [`plan`] searching as hard as `search` says, pricing as a payload of `chunk_len`-byte
/// chunks is coded.
pub fn plan_with(
    base: &[u8],
    target: &[u8],
    base_map: &ModelMap<'_>,
    target_map: &ModelMap<'_>,
    profile: Profile,
    search: Search,
    chunk_len: u64,
) -> Vec<Op> {
    let glue_len = target_map.opaque_bytes();
    let pricer = Pricer::new(profile, chunk_len);
    let mut planner = Planner::new(base, target, base_map, pricer, glue_len, search);
    for region in &target_map.regions {
        if let Region::Tensor(t) = region {
            if t.len >= SMALL_TENSOR && !t.sparse {
                planner.glue(planner.pos, t.offset);
                planner.tensor(t);
            }
        }
    }
    planner.glue(planner.pos, target.len() as u64);
    planner.ops
}

/// Plans `base -> target` treating both as opaque bytes.
pub fn plan_opaque(base: &[u8], target: &[u8], profile: Profile) -> Vec<Op> {
    plan_opaque_with(
        base,
        target,
        profile,
        Search::DEFAULT,
        super::DEFAULT_CHUNK_LEN,
    )
}

/// [`plan_opaque`] searching as hard as `search` says, pricing as a payload of `chunk_len`-byte
/// chunks is coded.
pub fn plan_opaque_with(
    base: &[u8],
    target: &[u8],
    profile: Profile,
    search: Search,
    chunk_len: u64,
) -> Vec<Op> {
    let map = ModelMap::opaque(base.len() as u64);
    let pricer = Pricer::new(profile, chunk_len);
    let len = target.len() as u64;
    let mut planner = Planner::new(base, target, &map, pricer, len, search);
    planner.glue(0, target.len() as u64);
    planner.ops
}

/// A base tensor a result tensor can be matched with.
#[derive(Debug, Clone, Copy)]
struct BaseTensor {
    offset: u64,
    len: u64,
    layout: LayoutId,
}

struct Planner<'a> {
    base: &'a [u8],
    target: &'a [u8],
    finder: MatchFinder<'a>,
    pricer: Pricer,
    ops: Vec<Op>,
    /// Result bytes planned so far.
    pos: u64,
    /// Base offset minus result offset of recent aligned or copied bytes, newest first.
    recent_deltas: [i64; 4],
    /// Distance of the last copy from the result.
    last_distance: u64,
    /// Result positions indexed for matches so far.
    indexed: u64,
    /// Whether the profile has the LZ model.
    lz: bool,
    /// Whether the match parse looks one byte ahead.
    lazy: bool,
    by_content: HashMap<(u64, u64), u64>,
    /// Tensors of the result planned so far, by content: offset of the first.
    result_content: HashMap<(u64, u64), u64>,
    by_name: HashMap<String, BaseTensor>,
    by_shape: HashMap<(LayoutId, u64), Vec<BaseTensor>>,
    shape_rank: HashMap<(LayoutId, u64), usize>,
}

fn content_key(bytes: &[u8]) -> (u64, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    (bytes.len() as u64, h.finish())
}

impl<'a> Planner<'a> {
    fn new(
        base: &'a [u8],
        target: &'a [u8],
        base_map: &ModelMap<'_>,
        pricer: Pricer,
        glue_len: u64,
        search: Search,
    ) -> Self {
        let full_index = (base.len() as u64) <= FULL_INDEX_LIMIT;
        let indexed_base = if full_index {
            base.len() as u64
        } else {
            base_map.opaque_bytes()
        };
        let step = (indexed_base + glue_len).div_ceil(INDEX_BUDGET).max(1);
        let mut finder = MatchFinder::new(base, target, step, (indexed_base + glue_len) / step)
            .with_chain(search.chain);
        let mut by_content = HashMap::new();
        let mut by_name = HashMap::new();
        let mut by_shape: HashMap<(LayoutId, u64), Vec<BaseTensor>> = HashMap::new();
        if full_index {
            finder.index_base(0, base.len() as u64);
        }
        for region in &base_map.regions {
            match region {
                Region::Tensor(t) => {
                    let layout = usable_layout(t);
                    let entry = BaseTensor {
                        offset: t.offset,
                        len: t.len,
                        layout,
                    };
                    by_content
                        .entry(content_key(t.bytes(base)))
                        .or_insert(t.offset);
                    by_name.entry(t.name.to_string()).or_insert(entry);
                    by_shape.entry((layout, t.len)).or_default().push(entry);
                    if !full_index && t.len < SMALL_TENSOR * 16 {
                        finder.index_base(t.offset, t.offset + t.len);
                    }
                }
                Region::Opaque { offset, len } => {
                    if !full_index {
                        finder.index_base(*offset, offset + len);
                    }
                }
            }
        }
        Self {
            base,
            target,
            finder,
            lz: pricer.profile().has_lz(),
            pricer,
            ops: Vec::new(),
            pos: 0,
            recent_deltas: [0; 4],
            last_distance: 1,
            indexed: 0,
            lazy: search.lazy,
            by_content,
            result_content: HashMap::new(),
            by_name,
            by_shape,
            shape_rank: HashMap::new(),
        }
    }

    fn emit(&mut self, ops: Vec<Op>) {
        self.pricer.commit(&ops, self.base, self.target, self.pos);
        for op in ops {
            self.pos += op.output_len();
            self.ops.push(op);
        }
    }

    /// Indexes result positions up to `end` for later matches.
    fn index_to(&mut self, end: u64) {
        while self.indexed < end {
            self.finder.index_result(self.indexed);
            self.indexed += 1;
        }
    }
}
