//! Decodes one smallest-codec chunk from input that arrives in pieces. A step (one operation
//! header or one value) never needs more than [`LOOKAHEAD`] coded bytes, so the decoder only
//! steps while that much input is buffered or the chunk's remaining input is all there.

use super::elements::{OpCursor, ValueContext, code_value};
use super::model::Model;
use super::ops::{OpHeader, OpKind, code_header};
use super::profile::Profile;
use crate::apply::output::Io;
use crate::codec::range::{Prob, RangeDecoder};
use crate::error::Error;
use crate::image::{BaseImage, ResultImage};

/// Coded bytes one step may consume at most: an operation header has under 128 binary
/// decisions, a value under 80, and a decision takes at most two bytes.
pub(crate) const LOOKAHEAD: usize = 256;

/// Bytes the encoder's flush may leave after the decoder's last read.
pub(crate) const MAX_TAIL: u64 = 8;

/// Decoder state of one chunk (the model itself lives in the work buffer).
#[derive(Debug)]
pub(crate) struct ChunkDecoder {
    rc: RangeDecoder,
    started: bool,
    profile: Profile,
    ops: OpState,
}

/// Where the operation stream stands.
#[derive(Debug)]
struct OpState {
    prev_kind: u8,
    base_cursor: u64,
    last_distance: u64,
    base_pos: u64,
    op: Option<OpCursor>,
    values: ValueContext,
}

impl ChunkDecoder {
    /// A decoder for a chunk whose output starts at `chunk_start`.
    pub(crate) fn new(profile: Profile, chunk_start: u64) -> Self {
        Self {
            rc: RangeDecoder::new(),
            started: false,
            profile,
            ops: OpState {
                prev_kind: 4,
                base_cursor: chunk_start,
                last_distance: 1,
                base_pos: 0,
                op: None,
                values: ValueContext::default(),
            },
        }
    }

    /// Whether the chunk's operations are complete (once its output is complete, what is
    /// left of its coded bytes is the encoder's flush).
    pub(crate) fn between_ops(&self) -> bool {
        self.started && self.ops.op.is_none()
    }

    /// Decodes from `input`; `is_rest` says that `input` holds all remaining coded bytes of
    /// the chunk. Returns the bytes consumed; stops when the chunk's output is complete.
    /// `at` is the payload offset of `input[0]`.
    pub(crate) fn decode<B: BaseImage, R: ResultImage>(
        &mut self,
        probs: &mut [Prob],
        input: &[u8],
        is_rest: bool,
        io: &mut Io<'_, '_, B, R>,
        at: u64,
    ) -> Result<usize, Error> {
        let corrupt = |offset: usize, reason| Error::CorruptPayload {
            offset: at + offset as u64,
            reason,
        };
        let mut used = 0;
        if !self.started {
            if input.len() < LOOKAHEAD && !is_rest {
                return Ok(0);
            }
            used = self.rc.start(input).map_err(|reason| corrupt(0, reason))?;
            self.started = true;
            Model::new(self.profile, probs);
        }
        let mut model = Model::attach(self.profile, probs);
        let mut rc = self.rc.with(&input[used..]);
        let ops = &mut self.ops;
        loop {
            if io.chunk_left() == 0 && ops.op.is_none() {
                return Ok(used + rc.position());
            }
            if !is_rest && input.len() - used - rc.position() < LOOKAHEAD {
                return Ok(used + rc.position());
            }
            let step_at = used + rc.position();
            match &mut ops.op {
                None => {
                    let h = code_header(
                        &mut rc,
                        &mut model,
                        ops.prev_kind,
                        ops.last_distance,
                        &OpHeader::blank(),
                    )
                    .map_err(|_| corrupt(step_at, "bad operation header"))?;
                    if rc.overran() {
                        return Err(corrupt(step_at, "operation header runs past the chunk"));
                    }
                    ops.prev_kind = h.kind as u8;
                    ops.start(&h, io, at + step_at as u64)?;
                }
                Some(cur) => {
                    let size = cur.kind().size();
                    let pos = io.position();
                    let old = if cur.aligned {
                        let mut buf = [0u8; 8];
                        io.read_base(ops.base_pos, &mut buf[..size])?;
                        ops.base_pos += size as u64;
                        u64::from_le_bytes(buf)
                    } else {
                        0
                    };
                    let value = code_value(&mut rc, &mut model, cur, &mut ops.values, pos, old, 0)
                        .map_err(|_| corrupt(step_at, "value out of range"))?;
                    if rc.overran() {
                        return Err(corrupt(step_at, "value runs past the chunk"));
                    }
                    io.push_slice(&value.to_le_bytes()[..size], at + step_at as u64)?;
                    if cur.done() {
                        ops.op = None;
                    }
                }
            }
        }
    }
}

impl OpState {
    fn start<B: BaseImage, R: ResultImage>(
        &mut self,
        h: &OpHeader,
        io: &mut Io<'_, '_, B, R>,
        at: u64,
    ) -> Result<(), Error> {
        let base_offset = |cursor: u64, delta: i64| {
            cursor
                .checked_add_signed(delta)
                .ok_or(Error::CorruptPayload {
                    offset: at,
                    reason: "base offset out of range",
                })
        };
        match h.kind {
            OpKind::CopyBase => {
                let offset = base_offset(self.base_cursor, h.base_delta)?;
                io.copy_base(offset, h.len, at)?;
                self.base_cursor = offset + h.len;
                self.values.set_prev_byte(last_byte(io)?);
            }
            OpKind::CopyResult => {
                let offset =
                    io.position()
                        .checked_sub(h.distance)
                        .ok_or(Error::CorruptPayload {
                            offset: at,
                            reason: "copy from before the result's start",
                        })?;
                io.copy_result(offset, h.len, at)?;
                self.last_distance = h.distance;
                self.values.set_prev_byte(last_byte(io)?);
            }
            OpKind::Literal | OpKind::Aligned => {
                let bytes = h
                    .len
                    .checked_mul(h.layout.element_size() as u64)
                    .filter(|&b| b <= io.chunk_left())
                    .ok_or(Error::CorruptPayload {
                        offset: at,
                        reason: "operation overruns its chunk",
                    })?;
                let aligned = h.kind == OpKind::Aligned;
                if aligned {
                    let offset = base_offset(self.base_cursor, h.base_delta)?;
                    if offset
                        .checked_add(bytes)
                        .is_none_or(|end| end > io.base_len())
                    {
                        return Err(Error::BaseOutOfRange { offset, len: bytes });
                    }
                    self.base_pos = offset;
                    self.base_cursor = offset + bytes;
                }
                self.values.start_op();
                self.op = Some(OpCursor::new(h.layout, aligned, h.xor, h.len));
            }
        }
        Ok(())
    }
}

fn last_byte<B: BaseImage, R: ResultImage>(io: &mut Io<'_, '_, B, R>) -> Result<u8, Error> {
    let mut b = [0u8; 1];
    io.read_result(io.position() - 1, &mut b)?;
    Ok(b[0])
}
