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
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::codec::smallest::encoder::Op;
use mallorn_runtime::codec::smallest::ops::Residual;

use super::layouts::layout_for;
use super::lz_parse::LzParser;
use super::matcher::{MatchFinder, Source};
use super::pricing::Pricer;
use super::scaling;
use crate::model::{ModelMap, Region, TensorRegion};

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

/// Plans `base -> target` using both files' maps. Returns the operations, which produce the
/// target front to back.
pub fn plan(
    base: &[u8],
    target: &[u8],
    base_map: &ModelMap<'_>,
    target_map: &ModelMap<'_>,
    profile: Profile,
) -> Vec<Op> {
    let glue_len = target_map.opaque_bytes();
    let mut planner = Planner::new(base, target, base_map, profile, glue_len);
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
    let map = ModelMap::opaque(base.len() as u64);
    let mut planner = Planner::new(base, target, &map, profile, target.len() as u64);
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
    by_content: HashMap<(u64, u64), u64>,
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
        profile: Profile,
        glue_len: u64,
    ) -> Self {
        let full_index = (base.len() as u64) <= FULL_INDEX_LIMIT;
        let indexed_base = if full_index {
            base.len() as u64
        } else {
            base_map.opaque_bytes()
        };
        let step = (indexed_base + glue_len).div_ceil(INDEX_BUDGET).max(1);
        let mut finder = MatchFinder::new(base, target, step, (indexed_base + glue_len) / step);
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
            pricer: Pricer::new(profile),
            ops: Vec::new(),
            pos: 0,
            recent_deltas: [0; 4],
            last_distance: 1,
            indexed: 0,
            lz: profile.has_lz(),
            by_content,
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

    // ---- tensors ----

    fn tensor(&mut self, t: &TensorRegion<'_>) {
        let bytes = t.bytes(self.target);
        let start = t.offset;
        debug_assert_eq!(start, self.pos);
        self.indexed = self.indexed.max(start + t.len);
        if let Some(&offset) = self.by_content.get(&content_key(bytes)) {
            if self.base[offset as usize..(offset + t.len) as usize] == *bytes {
                self.emit(vec![Op::CopyBase { offset, len: t.len }]);
                self.note_delta(offset as i64 - start as i64);
                return;
            }
        }
        let layout = usable_layout(t);
        let count = t.len / layout.element_size() as u64;
        let mut candidates: Vec<Vec<Op>> = vec![vec![Op::Literal { layout, count }]];
        for matched in self.matches_for(t, layout) {
            candidates.push(vec![Op::Aligned {
                layout,
                residual: Residual::Sub,
                count,
                offset: matched.offset,
            }]);
            if layout != LayoutId::Bytes {
                candidates.push(vec![Op::Aligned {
                    layout,
                    residual: Residual::Xor,
                    count,
                    offset: matched.offset,
                }]);
            }
            let old = &self.base[matched.offset as usize..(matched.offset + t.len) as usize];
            if let Some(factor) = scaling::estimate(layout, old, bytes) {
                candidates.push(vec![Op::Aligned {
                    layout,
                    residual: Residual::Scaled(factor),
                    count,
                    offset: matched.offset,
                }]);
            }
        }
        if layout != LayoutId::Bytes {
            candidates.push(vec![Op::Literal {
                layout: LayoutId::Bytes,
                count: t.len,
            }]);
        }
        let choice = self.cheapest(&candidates, t.len, layout.element_size() as u64);
        if let Some(Op::Aligned { offset, .. }) = candidates[choice].first() {
            self.note_delta(*offset as i64 - start as i64);
        }
        let chosen = candidates.swap_remove(choice);
        self.emit(chosen);
    }

    /// Base tensors worth trying as references for `t`: by name, then by layout, size and
    /// rank among tensors of that layout and size.
    fn matches_for(&mut self, t: &TensorRegion<'_>, layout: LayoutId) -> Vec<BaseTensor> {
        let mut out = Vec::new();
        if let Some(b) = self.by_name.get(t.name.as_ref()) {
            if b.len == t.len && b.layout == layout {
                out.push(*b);
            }
        }
        let key = (layout, t.len);
        let rank = self.shape_rank.entry(key).or_insert(0);
        if let Some(list) = self.by_shape.get(&key) {
            if let Some(b) = list.get(*rank).or(list.last()) {
                if out.iter().all(|o| o.offset != b.offset) {
                    out.push(*b);
                }
            }
        }
        *rank += 1;
        out
    }

    /// Index of the cheapest candidate for the `len` bytes at `self.pos`; large tensors are
    /// priced on evenly spread samples of whole elements.
    fn cheapest(&self, candidates: &[Vec<Op>], len: u64, element: u64) -> usize {
        if candidates.len() == 1 {
            return 0;
        }
        let windows = sample_windows(len, element);
        let mut best = (u64::MAX, 0);
        for (i, ops) in candidates.iter().enumerate() {
            let cost: u64 = windows
                .iter()
                .map(|&(from, n)| {
                    let window: Vec<Op> =
                        ops.iter().map(|op| restrict(op.clone(), from, n)).collect();
                    self.pricer
                        .price(&window, self.base, self.target, self.pos + from)
                })
                .sum();
            if cost < best.0 {
                best = (cost, i);
            }
        }
        best.1
    }

    // ---- glue ----

    /// Plans `[start, end)` as opaque bytes: an exact-match parse (recent alignments first,
    /// then the longest match in the base or the result written so far), whose base matches
    /// at one alignment separated by short gaps are merged into aligned stretches.
    fn glue(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        debug_assert_eq!(start, self.pos);
        // First plan: matches, aligned stretches with typed residual clusters, literals.
        let before = (self.pricer.clone(), self.ops.len());
        let segments = self.parse_matches(start, end);
        for segment in merge_aligned(&segments, self.base, self.target) {
            match segment {
                Segment::Literal { start, end } => self.flush_literal(start, end),
                Segment::Result { distance, len, .. } => {
                    self.emit(vec![Op::CopyResult { distance, len }])
                }
                Segment::Base { start, len, delta } => self.emit_aligned(start, start + len, delta),
            }
        }
        self.index_to(end);
        if !self.lz {
            return;
        }
        // Then replace each run of byte operations by an LZ run where that is cheaper; typed
        // clusters and long copies stay.
        let planned = self.ops.split_off(before.1);
        self.pricer = before.0;
        self.pos = start;
        let mut span = Vec::new();
        for op in planned {
            if is_byte_op(&op) {
                span.push(op);
            } else {
                self.flush_span(&mut span);
                self.emit(vec![op]);
            }
        }
        self.flush_span(&mut span);
    }

    /// Emits `span` (byte operations from `self.pos`) or one LZ run over the same bytes,
    /// whichever the model prices cheaper.
    fn flush_span(&mut self, span: &mut Vec<Op>) {
        if span.is_empty() {
            return;
        }
        let start = self.pos;
        let len: u64 = span.iter().map(Op::output_len).sum();
        let items = LzParser::new(self.base, self.target, &self.finder).parse(
            start,
            start + len,
            self.pricer.lz_reps(),
        );
        let candidates = [std::mem::take(span), vec![Op::Lz { items }]];
        let (choice, _) = self
            .pricer
            .choose(&candidates, self.base, self.target, start);
        let [first, second] = candidates;
        let chosen = if choice == 0 { first } else { second };
        self.pos += len;
        self.ops.extend(chosen);
    }

    /// Greedy exact-match parse of `[start, end)` with one step of lazy evaluation.
    fn parse_matches(&mut self, start: u64, end: u64) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut p = start;
        let mut literal_start = p;
        while p < end {
            self.index_to(p);
            let Some(found) = self.best_match(p, end) else {
                p += 1;
                continue;
            };
            if p + 1 < end {
                self.index_to(p + 1);
                if let Some(next) = self.best_match(p + 1, end) {
                    if next.score() > found.score() + 1 {
                        p += 1;
                        continue;
                    }
                }
            }
            // Sparse indexing finds matches late: grow them back over unparsed bytes.
            let found = self.extend_back(found, literal_start);
            if found.start() > literal_start {
                out.push(Segment::Literal {
                    start: literal_start,
                    end: found.start(),
                });
            }
            if let Segment::Base { delta, .. } = found {
                self.note_delta(delta);
            }
            if let Segment::Result { distance, .. } = found {
                self.last_distance = distance;
            }
            p = found.start() + found.len();
            literal_start = p;
            out.push(found);
        }
        if end > literal_start {
            out.push(Segment::Literal {
                start: literal_start,
                end,
            });
        }
        out
    }

    /// The best match at `p`: a recent alignment (no offset to pay for) or the longest
    /// match the index finds.
    fn best_match(&self, p: u64, end: u64) -> Option<Segment> {
        let mut best: Option<Segment> = None;
        let mut consider = |candidate: Segment| {
            if best.is_none_or(|b| candidate.score() > b.score()) {
                best = Some(candidate);
            }
        };
        for &delta in &self.recent_deltas {
            let len = self.match_len(p, delta, end);
            if len >= MIN_REPEAT_MATCH {
                consider(Segment::Base {
                    start: p,
                    len,
                    delta,
                });
            }
        }
        if let Some(r) = p.checked_sub(self.last_distance) {
            let len = common_prefix(
                &self.target[r as usize..end as usize],
                &self.target[p as usize..end as usize],
            ) as u64;
            if len >= MIN_REPEAT_MATCH {
                consider(Segment::Result {
                    start: p,
                    distance: self.last_distance,
                    len,
                    repeat: true,
                });
            }
        }
        let hint = (p as i64 + self.recent_deltas[0]).max(0) as u64;
        if let Some(m) = self.finder.find(p, end, hint) {
            match m.source {
                Source::Base(b) if m.len >= MIN_BASE_MATCH => {
                    consider(Segment::Base {
                        start: p,
                        len: m.len,
                        delta: b as i64 - p as i64,
                    });
                }
                Source::Result(r) if m.len >= MIN_RESULT_MATCH => {
                    consider(Segment::Result {
                        start: p,
                        distance: p - r,
                        len: m.len,
                        repeat: p - r == self.last_distance,
                    });
                }
                _ => {}
            }
        }
        best
    }

    /// Grows a match backwards over bytes not yet parsed (sparse indexing finds matches late).
    fn extend_back(&self, found: Segment, floor: u64) -> Segment {
        match found {
            Segment::Base { start, len, delta } => {
                let mut s = start;
                while s > floor
                    && s as i64 + delta > 0
                    && self.target[(s - 1) as usize] == self.base[(s as i64 + delta - 1) as usize]
                {
                    s -= 1;
                }
                Segment::Base {
                    start: s,
                    len: len + (start - s),
                    delta,
                }
            }
            Segment::Result {
                start,
                distance,
                len,
                repeat,
            } => {
                let mut s = start;
                while s > floor
                    && s > distance
                    && self.target[(s - 1) as usize] == self.target[(s - 1 - distance) as usize]
                {
                    s -= 1;
                }
                Segment::Result {
                    start: s,
                    distance,
                    len: len + (start - s),
                    repeat,
                }
            }
            literal => literal,
        }
    }

    /// Bytes from `p` that equal the base at `p + delta`.
    fn match_len(&self, p: u64, delta: i64, end: u64) -> u64 {
        let b = p as i64 + delta;
        if b < 0 || b as u64 >= self.base.len() as u64 {
            return 0;
        }
        common_prefix(
            &self.base[b as usize..],
            &self.target[p as usize..end as usize],
        ) as u64
    }

    /// Moves `delta` to the front of the recent alignments.
    fn note_delta(&mut self, delta: i64) {
        let at = self
            .recent_deltas
            .iter()
            .position(|&d| d == delta)
            .unwrap_or(self.recent_deltas.len() - 1);
        self.recent_deltas.copy_within(0..at, 1);
        self.recent_deltas[0] = delta;
    }

    fn flush_literal(&mut self, start: u64, end: u64) {
        if end > start {
            self.emit(vec![Op::Literal {
                layout: LayoutId::Bytes,
                count: end - start,
            }]);
        }
    }

    /// Emits an aligned stretch: long exact runs as copies, changed clusters as residuals in
    /// the layout the model prices cheapest (bytes, or 32-bit words when they are numbers).
    fn emit_aligned(&mut self, start: u64, end: u64, delta: i64) {
        let base_at = |q: u64| (q as i64 + delta) as u64;
        let mut q = start;
        while q < end {
            // Exact run from q.
            let mut e = q;
            while e < end && self.target[e as usize] == self.base[base_at(e) as usize] {
                e += 1;
            }
            if e - q >= COPY_MIN || e == end {
                if e > q {
                    if e - q >= COPY_MIN {
                        self.emit(vec![Op::CopyBase {
                            offset: base_at(q),
                            len: e - q,
                        }]);
                    } else {
                        self.emit(vec![Op::Aligned {
                            layout: LayoutId::Bytes,
                            residual: Residual::Sub,
                            count: e - q,
                            offset: base_at(q),
                        }]);
                    }
                }
                q = e;
                continue;
            }
            // A changed cluster: until the next exact run of COPY_MIN bytes.
            let mut c = e;
            let mut run = 0;
            while c < end {
                if self.target[c as usize] == self.base[base_at(c) as usize] {
                    run += 1;
                    if run >= COPY_MIN {
                        c -= COPY_MIN - 1;
                        break;
                    }
                } else {
                    run = 0;
                }
                c += 1;
            }
            let cluster_end = c.min(end);
            let candidates = self.cluster_candidates(q, cluster_end, delta);
            let (choice, _) = self
                .pricer
                .choose(&candidates, self.base, self.target, self.pos);
            for op in &candidates[choice] {
                self.pos += op.output_len();
                self.ops.push(op.clone());
            }
            q = cluster_end;
        }
    }

    /// Ways to code the changed cluster `[start, end)` aligned by `delta`.
    fn cluster_candidates(&self, start: u64, end: u64, delta: i64) -> Vec<Vec<Op>> {
        let base_at = |q: u64| (q as i64 + delta) as u64;
        let bytes = |from: u64, to: u64| Op::Aligned {
            layout: LayoutId::Bytes,
            residual: Residual::Sub,
            count: to - from,
            offset: base_at(from),
        };
        let mut out = vec![vec![bytes(start, end)]];
        // Words on the result's 4-byte grid, with byte pieces before and after.
        let w_start = start.div_ceil(4) * 4;
        let w_end = end / 4 * 4;
        if w_end > w_start {
            let words = |layout| {
                let from = w_start as usize;
                let to = w_end as usize;
                let base_from = base_at(w_start) as usize;
                scaling::estimate(
                    layout,
                    &self.base[base_from..base_from + (to - from)],
                    &self.target[from..to],
                )
            };
            let mut modes = vec![
                (LayoutId::F32, Residual::Sub),
                (LayoutId::I32, Residual::Sub),
                (LayoutId::F32, Residual::Xor),
            ];
            for layout in [LayoutId::F32, LayoutId::I32] {
                if let Some(factor) = words(layout) {
                    modes.push((layout, Residual::Scaled(factor)));
                }
            }
            for (layout, residual) in modes {
                let mut ops = Vec::new();
                if w_start > start {
                    ops.push(bytes(start, w_start));
                }
                ops.push(Op::Aligned {
                    layout,
                    residual,
                    count: (w_end - w_start) / 4,
                    offset: base_at(w_start),
                });
                if end > w_end {
                    ops.push(bytes(w_end, end));
                }
                out.push(ops);
            }
        }
        out
    }
}

/// The codec layout for a tensor, or `Bytes` when its length is not whole elements of it.
fn usable_layout(t: &TensorRegion<'_>) -> LayoutId {
    let layout = layout_for(t.dtype);
    if t.len % layout.element_size() as u64 == 0 {
        layout
    } else {
        LayoutId::Bytes
    }
}

/// Windows `(offset, len)` of whole elements to price a tensor of `len` bytes on.
fn sample_windows(len: u64, element: u64) -> Vec<(u64, u64)> {
    if len <= SAMPLE_BYTES {
        return vec![(0, len)];
    }
    let window = SAMPLE_BYTES / 4 / element * element;
    let window = window.max(element);
    (0..4)
        .map(|i| {
            let from = (len - window) * i / 3 / element * element;
            (from, window)
        })
        .collect()
}

/// `op` (which starts at the window's origin) restricted to `len` bytes from `from`.
fn restrict(op: Op, from: u64, len: u64) -> Op {
    match op {
        // LZ runs are planned for a range as a whole; a window prices them as literals.
        Op::Lz { .. } => Op::Literal {
            layout: LayoutId::Bytes,
            count: len,
        },
        Op::CopyBase { offset, .. } => Op::CopyBase {
            offset: offset + from,
            len,
        },
        Op::CopyResult { distance, .. } => Op::CopyResult { distance, len },
        Op::Literal { layout, .. } => Op::Literal {
            layout,
            count: len / layout.element_size() as u64,
        },
        Op::Aligned {
            layout,
            residual,
            offset,
            ..
        } => Op::Aligned {
            layout,
            residual,
            count: len / layout.element_size() as u64,
            offset: offset + from,
        },
    }
}

/// Operations an LZ run can replace: byte literals and residuals, copies from the result,
/// short copies from the base.
fn is_byte_op(op: &Op) -> bool {
    match op {
        Op::Literal { layout, .. } | Op::Aligned { layout, .. } => *layout == LayoutId::Bytes,
        Op::CopyResult { .. } => true,
        Op::CopyBase { len, .. } => *len < LONG_COPY,
        Op::Lz { .. } => true,
    }
}

/// A piece of the glue parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Bytes without a match.
    Literal { start: u64, end: u64 },
    /// Bytes matching (or, after merging, aligned with) the base at `start + delta`.
    Base { start: u64, len: u64, delta: i64 },
    /// Bytes repeating the result `distance` bytes back.
    Result {
        start: u64,
        distance: u64,
        len: u64,
        repeat: bool,
    },
}

impl Segment {
    fn start(&self) -> u64 {
        match *self {
            Segment::Literal { start, .. }
            | Segment::Base { start, .. }
            | Segment::Result { start, .. } => start,
        }
    }

    fn len(&self) -> u64 {
        match *self {
            Segment::Literal { start, end } => end - start,
            Segment::Base { len, .. } | Segment::Result { len, .. } => len,
        }
    }

    /// Bytes a match saves, less a rough price of its offset.
    fn score(&self) -> i64 {
        match *self {
            Segment::Literal { .. } => 0,
            Segment::Base { len, .. } => len as i64 - 2,
            Segment::Result {
                len, repeat: true, ..
            } => len as i64 - 1,
            Segment::Result { len, .. } => len as i64 - 3,
        }
    }
}

/// Merges base matches at the same alignment separated only by short literal gaps into one
/// aligned stretch (the gap bytes become residuals against the base).
fn merge_aligned(segments: &[Segment], base: &[u8], target: &[u8]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for &segment in segments {
        if let Segment::Base { start, len, delta } = segment {
            // Look back over at most one literal gap to a base match at the same alignment.
            let n = out.len();
            let merge_into = match out.as_slice() {
                [
                    ..,
                    Segment::Base { delta: d, .. },
                    Segment::Literal { start: ls, end: le },
                ] if *d == delta
                    && base_in_range(*ls, delta)
                    && gap_still_aligned(base, target, *ls, *le, delta) =>
                {
                    Some(n - 2)
                }
                [.., Segment::Base { delta: d, .. }] if *d == delta => Some(n - 1),
                _ => None,
            };
            if let Some(i) = merge_into {
                out.truncate(i + 1);
                if let Segment::Base {
                    start: s, len: l, ..
                } = &mut out[i]
                {
                    *l = start + len - *s;
                }
                continue;
            }
        }
        out.push(segment);
    }
    out
}

fn base_in_range(start: u64, delta: i64) -> bool {
    start as i64 + delta >= 0
}

/// Whether the gap `[start, end)` is short, or still resembles the base at `delta` (numbers
/// that changed keep some bytes, so the gap codes better as residuals than as literals).
fn gap_still_aligned(base: &[u8], target: &[u8], start: u64, end: u64, delta: i64) -> bool {
    let len = end - start;
    if len <= ALIGN_GAP {
        return true;
    }
    if len > MERGE_GAP_MAX {
        return false;
    }
    let same = (start..end)
        .filter(|&q| base.get((q as i64 + delta) as usize) == Some(&target[q as usize]))
        .count() as u64;
    same * MERGE_SIMILARITY >= len
}

use super::matcher::common_prefix;
