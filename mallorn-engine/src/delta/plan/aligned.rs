//! Emitting an aligned stretch of glue: long exact runs become copies, changed clusters become
//! residuals in the layout the model prices cheapest (bytes, or 32-bit words by difference,
//! XOR or scaled difference when the changed bytes are numbers).

use mallorn_runtime::codec::layout::LayoutId;
use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::smallest::ops::Residual;

use super::{COPY_MIN, Planner};
use crate::delta::scaling;

impl Planner<'_> {
    /// Emits an aligned stretch: long exact runs as copies, changed clusters as residuals in
    /// the layout the model prices cheapest (bytes, or 32-bit words when they are numbers).
    pub(super) fn emit_aligned(&mut self, start: u64, end: u64, delta: i64) {
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
    pub(super) fn cluster_candidates(&self, start: u64, end: u64, delta: i64) -> Vec<Vec<Op>> {
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
