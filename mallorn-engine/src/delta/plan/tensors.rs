//! Planning a tensor of the result: an identical base tensor, or an identical tensor earlier
//! in the result, is copied; bytes found mostly elsewhere are planned like glue; otherwise its
//! candidates (literal in its layout or as bytes, aligned with each matched base tensor by
//! difference, XOR or scaled difference) are priced with the model, on samples for large
//! tensors, and the cheapest is emitted.

use mallorn_runtime::codec::layout::LayoutId;
use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::smallest::ops::Residual;

use super::{BaseTensor, Planner, SAMPLE_BYTES, content_key};
use crate::delta::layouts::layout_for;
use crate::delta::matcher::Source;
use crate::delta::scaling;
use crate::model::TensorRegion;

/// Points of a tensor probed for exact runs found elsewhere, and the run length that counts.
const PROBES: u64 = 16;
const PROBE_MATCH: u64 = 64;
/// Positions probed at each point at most (an index step larger than this may miss runs).
const MAX_PROBE_STEP: u64 = 64;

impl Planner<'_> {
    pub(super) fn tensor(&mut self, t: &TensorRegion<'_>) {
        let bytes = t.bytes(self.target);
        let start = t.offset;
        debug_assert_eq!(start, self.pos);
        self.indexed = self.indexed.max(start + t.len);
        let key = content_key(bytes);
        if let Some(&offset) = self.by_content.get(&key) {
            if self.base[offset as usize..(offset + t.len) as usize] == *bytes {
                self.emit(vec![Op::CopyBase { offset, len: t.len }]);
                self.note_delta(offset as i64 - start as i64);
                return;
            }
        }
        // A tensor the result holds twice (tied weights stored twice): copy the first.
        match self.result_content.get(&key) {
            Some(&earlier)
                if self.target[earlier as usize..(earlier + t.len) as usize] == *bytes =>
            {
                let distance = start - earlier;
                self.emit(vec![Op::CopyResult {
                    distance,
                    len: t.len,
                }]);
                self.last_distance = distance;
                return;
            }
            Some(_) => {}
            None => {
                self.result_content.insert(key, start);
            }
        }
        let layout = usable_layout(t);
        let matches = self.matches_for(t, layout);
        if self.found_elsewhere(t, &matches) {
            // Rearranged bytes (tensors fused, split or moved into another): plan them like
            // glue, as copies from wherever they are.
            self.glue(start, start + t.len);
            return;
        }
        let count = t.len / layout.element_size() as u64;
        let mut candidates: Vec<Vec<Op>> = vec![vec![Op::Literal { layout, count }]];
        for matched in matches {
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

    /// Whether most of `t` is found as long exact runs in the base or the result so far,
    /// other than aligned with one of its `matches` (which its residuals code as well): probed
    /// at evenly spread points, each over one indexing step so that a sparse index cannot
    /// miss a match there.
    fn found_elsewhere(&self, t: &TensorRegion<'_>, matches: &[BaseTensor]) -> bool {
        if t.len < PROBES * PROBE_MATCH {
            return false;
        }
        let end = t.offset + t.len;
        let step = self.finder.step().min(MAX_PROBE_STEP);
        let aligned = |p: u64, b: u64| {
            matches
                .iter()
                .any(|m| m.offset as i64 - t.offset as i64 == b as i64 - p as i64)
        };
        let hits = (0..PROBES)
            .filter(|i| {
                let from = t.offset + (t.len - PROBE_MATCH) * i / (PROBES - 1);
                (from..(from + step).min(end)).any(|p| {
                    self.finder.find(p, end).is_some_and(|m| {
                        m.len >= PROBE_MATCH
                            && match m.source {
                                Source::Base(b) => !aligned(p, b),
                                Source::Result(_) => true,
                            }
                    })
                })
            })
            .count() as u64;
        hits * 2 > PROBES
    }

    /// Base tensors worth trying as references for `t`: by name, then by layout, size and
    /// rank among tensors of that layout and size.
    pub(super) fn matches_for(
        &mut self,
        t: &TensorRegion<'_>,
        layout: LayoutId,
    ) -> Vec<BaseTensor> {
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
    pub(super) fn cheapest(&self, candidates: &[Vec<Op>], len: u64, element: u64) -> usize {
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
}

/// The codec layout for a tensor, or `Bytes` when its length is not whole elements of it.
pub(super) fn usable_layout(t: &TensorRegion<'_>) -> LayoutId {
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
