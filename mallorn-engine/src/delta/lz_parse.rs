//! Parses opaque bytes into LZ items (literals and matches into the base or the result so
//! far), the way LZMA's fast mode does: repeat distances first, the longest match found by
//! the hash chains otherwise, one step of lazy evaluation, literals in between.

use mallorn_runtime::codec::smallest::lz::{LzItem, MAX_DISTANCE, MAX_MATCH};

use super::matcher::{MatchFinder, Source, common_prefix};

/// A match this long is taken without looking further.
const NICE_LEN: u64 = 48;

/// A candidate at one position.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    distance: u64,
    len: u64,
}

/// The parser's view of the two files.
pub struct LzParser<'a, 'f> {
    base: &'a [u8],
    target: &'a [u8],
    finder: &'f MatchFinder<'a>,
}

impl<'a, 'f> LzParser<'a, 'f> {
    /// A parser over `base` and `target` using `finder` (which must have indexed the
    /// positions it should find).
    pub fn new(base: &'a [u8], target: &'a [u8], finder: &'f MatchFinder<'a>) -> Self {
        Self {
            base,
            target,
            finder,
        }
    }

    /// The byte at virtual offset `v` (base, then target).
    fn history(&self, v: u64) -> u8 {
        let b = self.base.len() as u64;
        if v < b {
            self.base[v as usize]
        } else {
            self.target[(v - b) as usize]
        }
    }

    /// Bytes from target position `p` that repeat the virtual history `distance` back.
    fn match_len(&self, p: u64, distance: u64, limit: u64) -> u64 {
        let v = self.base.len() as u64 + p;
        if distance == 0 || distance > v {
            return 0;
        }
        let src = v - distance;
        let b = self.base.len() as u64;
        if src >= b {
            let r = (src - b) as usize;
            return common_prefix(&self.target[r..], &self.target[p as usize..limit as usize])
                as u64;
        }
        let in_base = common_prefix(
            &self.base[src as usize..],
            &self.target[p as usize..limit as usize],
        ) as u64;
        if src + in_base < b || p + in_base >= limit {
            return in_base;
        }
        // The match runs off the end of the base into the result's start.
        in_base
            + (0..limit - p - in_base)
                .take_while(|&i| self.history(b + i) == self.target[(p + in_base + i) as usize])
                .count() as u64
    }

    fn best_rep(&self, p: u64, limit: u64, reps: &[u64; 4]) -> Option<(usize, Candidate)> {
        reps.iter()
            .enumerate()
            .map(|(i, &d)| {
                (
                    i,
                    Candidate {
                        distance: d,
                        len: self.match_len(p, d, limit),
                    },
                )
            })
            .filter(|(_, c)| c.len >= 2)
            .max_by_key(|(i, c)| (c.len, std::cmp::Reverse(*i)))
    }

    fn best_new(&self, p: u64, limit: u64) -> Option<Candidate> {
        let m = self.finder.find(p, limit)?;
        let v = self.base.len() as u64 + p;
        let distance = match m.source {
            Source::Base(b) => v - b,
            Source::Result(r) => p - r,
        };
        (distance <= MAX_DISTANCE && m.len >= 3).then_some(Candidate {
            distance,
            len: m.len.min(MAX_MATCH),
        })
    }

    /// Parses `[start, end)`; `reps` are the coder's repeat distances when the run starts.
    pub fn parse(&self, start: u64, end: u64, mut reps: [u64; 4]) -> Vec<LzItem> {
        let mut items = Vec::new();
        let mut p = start;
        let base_len = self.base.len() as u64;
        while p < end {
            let limit = end.min(p + MAX_MATCH);
            let rep = self.best_rep(p, limit, &reps);
            let main = self.best_new(p, limit);
            let choice = match (rep, main) {
                (Some((_, r)), _) if r.len >= NICE_LEN => Some(r),
                (_, Some(m)) if m.len >= NICE_LEN => Some(m),
                (Some((_, r)), Some(m))
                    if r.len + 1 >= m.len
                        || (r.len + 2 >= m.len && m.distance > 512)
                        || (r.len + 3 >= m.len && m.distance > 32768) =>
                {
                    Some(r)
                }
                (rep, Some(m)) => {
                    // One step of lazy evaluation: a clearly better match at the next byte
                    // wins over this one.
                    let next_limit = end.min(p + 1 + MAX_MATCH);
                    let next = (p + 1 < end)
                        .then(|| self.best_new(p + 1, next_limit))
                        .flatten();
                    let next_rep = (p + 1 < end)
                        .then(|| self.best_rep(p + 1, next_limit, &reps))
                        .flatten();
                    if next.is_some_and(|n| n.len > m.len + 1)
                        || next_rep.is_some_and(|(_, n)| n.len >= m.len)
                    {
                        None
                    } else {
                        Some(rep.map(|(_, r)| r).filter(|r| r.len >= m.len).unwrap_or(m))
                    }
                }
                (Some((_, r)), None) => Some(r),
                (None, None) => None,
            };
            match choice {
                Some(c) => {
                    items.push(LzItem::Match {
                        distance: c.distance,
                        len: c.len,
                    });
                    let at = reps.iter().position(|&d| d == c.distance).unwrap_or(3);
                    reps.copy_within(0..at, 1);
                    reps[0] = c.distance;
                    p += c.len;
                }
                None => {
                    // A lone byte equal to the one at the last distance is a one-byte repeat.
                    let v = base_len + p;
                    if reps[0] <= v
                        && self.history(v - reps[0]) == self.target[p as usize]
                        && !matches!(items.last(), Some(LzItem::Literal) | None)
                    {
                        items.push(LzItem::Match {
                            distance: reps[0],
                            len: 1,
                        });
                    } else {
                        items.push(LzItem::Literal);
                    }
                    p += 1;
                }
            }
        }
        items
    }
}
