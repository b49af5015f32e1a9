//! The encoding half of the fast codec (host side, `encode` feature).

use alloc::vec::Vec;

use super::{ALIGNED, COPY_BASE, COPY_RESULT, LITERAL, SHORT_LEN};
use crate::codec::op::Op;
use crate::codec::smallest::lz::LzItem;
use crate::format::varint;

/// Encodes the operations of one chunk in the fast form.
#[derive(Debug, Clone)]
pub struct ChunkEncoder {
    out: Vec<u8>,
    base_cursor: u64,
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)).cast_unsigned()
}

impl ChunkEncoder {
    /// An encoder for a chunk whose output starts at `chunk_start`.
    pub fn new(chunk_start: u64) -> Self {
        Self {
            out: Vec::new(),
            base_cursor: chunk_start,
        }
    }

    fn varint(&mut self, v: u64) {
        let mut buf = [0; varint::MAX_LEN];
        let n = varint::encode(v, &mut buf);
        self.out.extend_from_slice(&buf[..n]);
    }

    fn tag(&mut self, kind: u8, len: u64) {
        let short = (len - 1).min(SHORT_LEN);
        self.out.push(kind | (short as u8) << 2);
        if short == SHORT_LEN {
            self.varint(len - SHORT_LEN - 1);
        }
    }

    fn base_delta(&mut self, offset: u64) {
        self.varint(zigzag(offset.wrapping_sub(self.base_cursor).cast_signed()));
    }

    /// Codes `op`, which produces `result[pos..pos + op.output_len()]` (typed operations
    /// become byte operations: this codec has no value models).
    // Host-only encoder: offsets index the in-memory base/result they were taken from, so they fit usize.
    #[allow(clippy::cast_possible_truncation)]
    pub fn op(&mut self, op: &Op, base: &[u8], result: &[u8], pos: u64) {
        let len = op.output_len();
        let range = pos as usize..(pos + len) as usize;
        match *op {
            Op::Lz { ref items } => {
                // Literal runs stay literal; matches become copies from the base or result.
                let mut at = pos;
                let mut run_start = at;
                let base_len = base.len() as u64;
                for item in items {
                    match *item {
                        LzItem::Literal => at += 1,
                        LzItem::Match { distance, len } => {
                            if at > run_start {
                                self.tag(LITERAL, at - run_start);
                                self.out
                                    .extend_from_slice(&result[run_start as usize..at as usize]);
                            }
                            let src = base_len + at - distance;
                            if src >= base_len {
                                self.tag(COPY_RESULT, len);
                                self.varint(distance);
                            } else {
                                // A match crossing from the base into the result splits in two.
                                let from_base = (base_len - src).min(len);
                                self.tag(COPY_BASE, from_base);
                                self.base_delta(src);
                                self.base_cursor = src + from_base;
                                if len > from_base {
                                    self.tag(COPY_RESULT, len - from_base);
                                    self.varint(at + from_base);
                                }
                            }
                            at += len;
                            run_start = at;
                        }
                    }
                }
                if at > run_start {
                    self.tag(LITERAL, at - run_start);
                    self.out
                        .extend_from_slice(&result[run_start as usize..at as usize]);
                }
            }
            Op::CopyBase { offset, .. } => {
                self.tag(COPY_BASE, len);
                self.base_delta(offset);
                self.base_cursor = offset + len;
            }
            Op::CopyResult { distance, .. } => {
                self.tag(COPY_RESULT, len);
                self.varint(distance);
            }
            Op::Literal { .. } => {
                self.tag(LITERAL, len);
                self.out.extend_from_slice(&result[range]);
            }
            Op::Aligned { offset, .. } => {
                self.tag(ALIGNED, len);
                self.base_delta(offset);
                self.base_cursor = offset + len;
                let old = &base[offset as usize..(offset + len) as usize];
                let new = &result[range];
                let mut i = 0;
                while i < new.len() {
                    let same = old[i..]
                        .iter()
                        .zip(&new[i..])
                        .take_while(|(o, n)| o == n)
                        .count();
                    // A changed run ends at the first stretch of 4 unchanged bytes (shorter
                    // stretches cost less as difference bytes than as a new run).
                    let mut j = i + same;
                    let mut quiet = 0;
                    let mut end = j;
                    while j < new.len() && quiet < 4 {
                        if old[j] == new[j] {
                            quiet += 1;
                        } else {
                            quiet = 0;
                            end = j + 1;
                        }
                        j += 1;
                    }
                    self.varint(same as u64);
                    self.varint((end - i - same) as u64);
                    for k in i + same..end {
                        self.out.push(new[k].wrapping_sub(old[k]));
                    }
                    i = end;
                }
            }
        }
    }

    /// The chunk's coded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}
