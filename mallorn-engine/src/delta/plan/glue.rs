//! Planning opaque glue: an exact-match parse (recent alignments first, then the longest match
//! in the base or the result written so far), merging of base matches at one alignment into
//! aligned stretches, then each run of byte operations replaced by an LZ run where the model
//! prices that cheaper.

use mallorn_runtime::codec::layout::LayoutId;
use mallorn_runtime::codec::op::Op;

use super::segments::{Segment, merge_aligned};
use super::{LONG_COPY, MIN_BASE_MATCH, MIN_REPEAT_MATCH, MIN_RESULT_MATCH, Planner};
use crate::delta::lz_parse::LzParser;
use crate::delta::matcher::{Source, common_prefix};

impl Planner<'_> {
    /// Plans `[start, end)` as opaque bytes: an exact-match parse (recent alignments first,
    /// then the longest match in the base or the result written so far), whose base matches
    /// at one alignment separated by short gaps are merged into aligned stretches.
    pub(super) fn glue(&mut self, start: u64, end: u64) {
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
    pub(super) fn flush_span(&mut self, span: &mut Vec<Op>) {
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
    pub(super) fn parse_matches(&mut self, start: u64, end: u64) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut p = start;
        let mut literal_start = p;
        while p < end {
            self.index_to(p);
            let Some(found) = self.best_match(p, end) else {
                p += 1;
                continue;
            };
            if self.lazy && p + 1 < end {
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
    pub(super) fn best_match(&self, p: u64, end: u64) -> Option<Segment> {
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
        if let Some(m) = self.finder.find(p, end) {
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
    pub(super) fn extend_back(&self, found: Segment, floor: u64) -> Segment {
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
    pub(super) fn match_len(&self, p: u64, delta: i64, end: u64) -> u64 {
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
    pub(super) fn note_delta(&mut self, delta: i64) {
        let at = self
            .recent_deltas
            .iter()
            .position(|&d| d == delta)
            .unwrap_or(self.recent_deltas.len() - 1);
        self.recent_deltas.copy_within(0..at, 1);
        self.recent_deltas[0] = delta;
    }

    pub(super) fn flush_literal(&mut self, start: u64, end: u64) {
        if end > start {
            self.emit(vec![Op::Literal {
                layout: LayoutId::Bytes,
                count: end - start,
            }]);
        }
    }
}

/// Operations an LZ run can replace: byte literals and residuals, copies from the result,
/// short copies from the base.
pub(super) fn is_byte_op(op: &Op) -> bool {
    match op {
        Op::Literal { layout, .. } | Op::Aligned { layout, .. } => *layout == LayoutId::Bytes,
        Op::CopyResult { .. } => true,
        Op::CopyBase { len, .. } => *len < LONG_COPY,
        Op::Lz { .. } => true,
    }
}
