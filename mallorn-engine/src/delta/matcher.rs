//! Finds exact repeats for opaque bytes: earlier occurrences in the base or in the result
//! written so far, through hash chains over 4-byte prefixes. Only the ranges the planner
//! indexes are searched (the base's opaque regions and small tensors, and the result's
//! opaque bytes as the plan passes them), which keeps memory proportional to the glue, not
//! to the model.

/// Where a match's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Offset in the base.
    Base(u64),
    /// Offset in the result (before the current position).
    Result(u64),
}

/// An exact match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Where the bytes come from.
    pub source: Source,
    /// Matching bytes.
    pub len: u64,
}

/// Candidates a search visits by default (`effort = "default"`).
pub const MAX_CHAIN: usize = 48;
const EMPTY: u32 = u32::MAX;
/// A match this long ends the search: longer chains would gain little.
const GOOD_ENOUGH: u64 = 1024;

/// Hash chains over indexed positions of base and result.
pub struct MatchFinder<'a> {
    base: &'a [u8],
    result: &'a [u8],
    head: Vec<u32>,
    /// log2 of the head table's length.
    hash_bits: u32,
    /// Only positions that are multiples of `step` are indexed (sparse indexing keeps large
    /// files affordable; matches are then extended backwards by the caller).
    step: u64,
    /// Per indexed entry: the position (base offsets below `base.len()`, result offsets
    /// after it) and the previous entry with the same hash.
    entries: Vec<(u64, u32)>,
    /// Candidates a search visits at most.
    max_chain: usize,
}

impl<'a> MatchFinder<'a> {
    /// An empty index over `base` and `result` that indexes every `step`-th position, sized
    /// for about `expected` entries (chains stay short).
    pub fn new(base: &'a [u8], result: &'a [u8], step: u64, expected: u64) -> Self {
        let hash_bits = (64 - expected.max(1).leading_zeros()).clamp(12, 22);
        Self {
            base,
            result,
            hash_bits,
            head: vec![EMPTY; 1 << hash_bits],
            step: step.max(1),
            entries: Vec::new(),
            max_chain: MAX_CHAIN,
        }
    }

    /// The same index visiting at most `max_chain` candidates per search.
    pub fn with_chain(mut self, max_chain: usize) -> Self {
        self.max_chain = max_chain.max(1);
        self
    }

    fn hash(&self, bytes: &[u8]) -> usize {
        let v = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        (v.wrapping_mul(2_654_435_761) >> (32 - self.hash_bits)) as usize
    }

    fn insert(&mut self, combined: u64, bytes: &[u8]) {
        if bytes.len() < 4 || self.entries.len() >= EMPTY as usize - 1 {
            return;
        }
        let h = self.hash(bytes);
        self.entries.push((combined, self.head[h]));
        self.head[h] = (self.entries.len() - 1) as u32;
    }

    /// Every how many positions one is indexed.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Indexes every position of `base[start..end]`.
    pub fn index_base(&mut self, start: u64, end: u64) {
        let base = self.base;
        let mut p = start.div_ceil(self.step) * self.step;
        while p < end {
            self.insert(p, &base[p as usize..]);
            p += self.step;
        }
    }

    /// Indexes result position `pos` (call in increasing order as the plan passes it).
    pub fn index_result(&mut self, pos: u64) {
        if pos % self.step != 0 {
            return;
        }
        let result = self.result;
        let combined = self.base.len() as u64 + pos;
        self.insert(combined, &result[pos as usize..]);
    }

    /// The longest match for `result[pos..limit]` among indexed positions before `pos`.
    /// Among equally long matches the most recently indexed one wins.
    pub fn find(&self, pos: u64, limit: u64) -> Option<Match> {
        let target = &self.result[pos as usize..limit as usize];
        if target.len() < 4 {
            return None;
        }
        let base_len = self.base.len() as u64;
        let mut entry = self.head[self.hash(target)];
        let mut best: Option<Match> = None;
        for _ in 0..self.max_chain {
            if entry == EMPTY {
                break;
            }
            let (combined, prev) = self.entries[entry as usize];
            entry = prev;
            let (source, bytes) = if combined < base_len {
                (Source::Base(combined), &self.base[combined as usize..])
            } else {
                let r = combined - base_len;
                if r >= pos {
                    continue;
                }
                (Source::Result(r), &self.result[r as usize..])
            };
            // A candidate can only beat the best if it also matches at the best's length.
            if let Some(m) = best {
                let at = m.len as usize;
                if bytes.get(at) != target.get(at) || at >= target.len() {
                    continue;
                }
            }
            let len = common_prefix(bytes, target) as u64;
            if len < 4 || best.is_some_and(|m| len <= m.len) {
                continue;
            }
            best = Some(Match { source, len });
            if len >= GOOD_ENOUGH {
                break;
            }
        }
        best
    }
}

/// Length of the common prefix, compared eight bytes at a time.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("eight bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_base_and_result_repeats() {
        let base = b"the quick brown fox jumps over the lazy dog".to_vec();
        let result = b"lazy dog and the quick brown cat; the quick brown cat".to_vec();
        let mut finder = MatchFinder::new(&base, &result, 1, 64);
        finder.index_base(0, base.len() as u64);
        let m = finder.find(0, result.len() as u64).unwrap();
        assert_eq!(
            m,
            Match {
                source: Source::Base(35),
                len: 8
            }
        );
        for p in 0..34 {
            finder.index_result(p);
        }
        let m = finder.find(34, result.len() as u64).unwrap();
        assert_eq!(m.len, 19);
        assert_eq!(m.source, Source::Result(13));
    }
}
