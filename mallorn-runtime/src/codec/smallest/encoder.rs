//! The encoding half of the smallest codec (host side, `encode` feature): mirrors
//! [`super::decoder::ChunkDecoder`] step for step through the same shared model code. Generic
//! over [`Coder`], so the same walk either writes bytes ([`RangeEncoder`]) or only prices
//! them ([`CostCoder`]) while the encoder weighs alternatives.

use alloc::vec;
use alloc::vec::Vec;

use super::elements::{OpCursor, ValueContext, code_value};
use super::lz::{self, Decoded, LzItem, LzState, code_item, code_literal};
use super::model::{Model, planned};
use super::ops::{OpHeader, OpKind, Residual, code_header};
use super::profile::Profile;
use crate::codec::layout::LayoutId;
use crate::codec::op::{Op, OpStream};
use crate::codec::range::cost::CostCoder;
use crate::codec::range::encoder::RangeEncoder;
use crate::codec::range::{Coder, PROB_INIT, Prob};

/// Encodes (or prices) the operations of one chunk.
#[derive(Debug, Clone)]
pub struct ChunkEncoder<C: Coder> {
    coder: C,
    probs: Vec<Prob>,
    profile: Profile,
    stream: OpStream,
    values: ValueContext,
    lz: LzState,
}

/// The byte `distance` back from result position `pos` in the virtual history (base, then
/// result).
// Host-only encoder: offsets index the in-memory base/result they were taken from, so they fit usize.
#[allow(clippy::cast_possible_truncation)]
fn history(base: &[u8], result: &[u8], pos: u64, distance: u64) -> u8 {
    let src = base.len() as u64 + pos - distance;
    if src < base.len() as u64 {
        base[src as usize]
    } else {
        result[(src - base.len() as u64) as usize]
    }
}

impl<C: Coder> ChunkEncoder<C> {
    /// An encoder for a chunk whose output starts at `chunk_start`.
    pub fn with_coder(coder: C, profile: Profile, chunk_start: u64) -> Self {
        Self {
            coder,
            probs: vec![PROB_INIT; planned(profile).total],
            profile,
            stream: OpStream::at(chunk_start),
            values: ValueContext::default(),
            lz: LzState::default(),
        }
    }

    /// The coder (to read a cost, for instance).
    pub fn coder(&self) -> &C {
        &self.coder
    }

    /// Distance of the last copy from the result (the repeat shortcut's distance).
    pub fn last_distance(&self) -> u64 {
        self.stream.last_distance
    }

    /// The LZ coder's history (repeat distances).
    pub fn lz_state(&self) -> &LzState {
        &self.lz
    }

    /// Where the base cursor stands (the offset a base reference is coded against).
    pub fn base_cursor(&self) -> u64 {
        self.stream.base_cursor
    }

    /// Codes `op`, which produces `result[pos..pos + op.output_len()]`. `base` and `result`
    /// are the whole files. Panics if the operation does not describe the data (a planner
    /// bug), so that no bundle is ever built from an inconsistent plan.
    // Host-only encoder: offsets index the in-memory base/result they were taken from, so they fit usize.
    #[allow(clippy::cast_possible_truncation)]
    pub fn op(&mut self, op: &Op, base: &[u8], result: &[u8], pos: u64) {
        let mut model = Model::attach(self.profile, &mut self.probs);
        let (header, base_start) = match *op {
            Op::Lz { .. } => (
                OpHeader {
                    kind: OpKind::Lz,
                    len: op.output_len(),
                    ..OpHeader::blank()
                },
                0,
            ),
            Op::CopyBase { offset, len } => (
                OpHeader {
                    kind: OpKind::CopyBase,
                    len,
                    base_delta: delta(offset, self.stream.base_cursor),
                    ..OpHeader::blank()
                },
                offset,
            ),
            Op::CopyResult { distance, len } => (
                OpHeader {
                    kind: OpKind::CopyResult,
                    len,
                    distance,
                    ..OpHeader::blank()
                },
                0,
            ),
            Op::Literal { layout, count } => (
                OpHeader {
                    kind: OpKind::Literal,
                    len: count,
                    layout,
                    ..OpHeader::blank()
                },
                0,
            ),
            Op::Aligned {
                layout,
                residual,
                count,
                offset,
            } => (
                // Opaque bytes have one aligned mode.
                OpHeader {
                    kind: OpKind::Aligned,
                    len: count,
                    layout,
                    residual: if layout == LayoutId::Bytes {
                        Residual::Sub
                    } else {
                        residual
                    },
                    base_delta: delta(offset, self.stream.base_cursor),
                    ..OpHeader::blank()
                },
                offset,
            ),
        };
        let coded = code_header(
            &mut self.coder,
            &mut model,
            self.stream.prev_kind,
            self.stream.last_distance,
            &header,
        )
        .expect("planned operation headers are in range");
        debug_assert_eq!(coded, header);
        self.stream.prev_kind = header.kind as u8;
        let out_len = op.output_len();
        let end = (pos + out_len) as usize;
        match *op {
            Op::Lz { ref items } => {
                let mut at = pos;
                for item in items {
                    let item = match *item {
                        // A one-byte match is only codable as a repeat of the last distance
                        // (the planner's idea of it may be stale after a chunk boundary).
                        LzItem::Match { distance, len: 1 } if self.lz.reps[0] != distance => {
                            LzItem::Literal
                        }
                        LzItem::Match { distance, len } => {
                            assert!(
                                (1..=lz::MAX_MATCH).contains(&len) && distance <= lz::MAX_DISTANCE,
                                "LZ match out of range"
                            );
                            LzItem::Match { distance, len }
                        }
                        LzItem::Literal => LzItem::Literal,
                    };
                    let decoded = code_item(&mut self.coder, &mut model, &mut self.lz, at, item);
                    match decoded {
                        Decoded::Literal => {
                            let match_byte = if self.lz.after_match() {
                                history(base, result, at, self.lz.reps[0])
                            } else {
                                0
                            };
                            let value = result[at as usize];
                            let coded = code_literal(
                                &mut self.coder,
                                &mut model,
                                &mut self.lz,
                                at,
                                self.values.prev_byte(),
                                match_byte,
                                value,
                            );
                            debug_assert_eq!(coded, value);
                            at += 1;
                        }
                        Decoded::Copy { distance, len } => {
                            for i in 0..len {
                                assert_eq!(
                                    history(base, result, at + i, distance),
                                    result[(at + i) as usize],
                                    "LZ match mismatch"
                                );
                            }
                            at += len;
                        }
                    }
                    self.values.set_prev_byte(result[(at - 1) as usize]);
                }
            }
            Op::CopyBase { offset, len } => {
                assert_eq!(
                    base[offset as usize..(offset + len) as usize],
                    result[pos as usize..end],
                    "copy from base mismatch"
                );
                self.stream.base_cursor = offset + len;
                self.values.set_prev_byte(result[end - 1]);
            }
            Op::CopyResult { distance, len } => {
                let src = pos - distance;
                for i in 0..len {
                    assert_eq!(
                        result[(src + i) as usize],
                        result[(pos + i) as usize],
                        "copy from result mismatch"
                    );
                }
                self.stream.last_distance = distance;
                self.values.set_prev_byte(result[end - 1]);
            }
            Op::Literal { layout, count } | Op::Aligned { layout, count, .. } => {
                let aligned = matches!(op, Op::Aligned { .. });
                let residual = match *op {
                    Op::Aligned { residual, .. } if layout != LayoutId::Bytes => residual,
                    _ => Residual::Sub,
                };
                self.values.start_op();
                let mut cur = OpCursor::new(layout, aligned, residual, count);
                let mut at = pos as usize;
                let mut base_at = base_start as usize;
                while !cur.done() {
                    let size = cur.kind().size();
                    let value = read_le(&result[at..at + size]);
                    let old = if aligned {
                        read_le(&base[base_at..base_at + size])
                    } else {
                        0
                    };
                    let coded = code_value(
                        &mut self.coder,
                        &mut model,
                        &mut cur,
                        &mut self.values,
                        at as u64,
                        old,
                        value,
                    )
                    .expect("values of planned operations are in range");
                    debug_assert_eq!(coded, value);
                    at += size;
                    base_at += size;
                }
                if aligned {
                    self.stream.base_cursor = base_start + out_len;
                }
            }
        }
    }
}

fn delta(offset: u64, cursor: u64) -> i64 {
    offset.wrapping_sub(cursor).cast_signed()
}

fn read_le(bytes: &[u8]) -> u64 {
    super::decoder::load_le(bytes, bytes.len())
}

impl ChunkEncoder<RangeEncoder> {
    /// An encoder that writes bytes.
    pub fn new(profile: Profile, chunk_start: u64) -> Self {
        Self::with_coder(RangeEncoder::new(), profile, chunk_start)
    }

    /// The chunk's coded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.coder.finish()
    }
}

impl ChunkEncoder<CostCoder> {
    /// An encoder that only measures.
    pub fn pricing(profile: Profile, chunk_start: u64) -> Self {
        Self::with_coder(CostCoder::default(), profile, chunk_start)
    }

    /// Cost so far in 1/256 bit.
    pub fn cost(&self) -> u64 {
        self.coder.cost
    }
}
