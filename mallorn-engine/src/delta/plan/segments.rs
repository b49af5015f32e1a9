//! The glue parse's segments and the merging of base matches at one alignment into aligned
//! stretches.

use super::{ALIGN_GAP, MERGE_GAP_MAX, MERGE_SIMILARITY};

/// A piece of the glue parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Segment {
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
    pub(super) fn start(&self) -> u64 {
        match *self {
            Segment::Literal { start, .. }
            | Segment::Base { start, .. }
            | Segment::Result { start, .. } => start,
        }
    }

    pub(super) fn len(&self) -> u64 {
        match *self {
            Segment::Literal { start, end } => end - start,
            Segment::Base { len, .. } | Segment::Result { len, .. } => len,
        }
    }

    /// Bytes a match saves, less a rough price of its offset.
    pub(super) fn score(&self) -> i64 {
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
pub(super) fn merge_aligned(segments: &[Segment], base: &[u8], target: &[u8]) -> Vec<Segment> {
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
