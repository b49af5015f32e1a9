//! Decodes one smallest-codec chunk from input that arrives in pieces. A step (one operation
//! header or one value) never needs more than [`LOOKAHEAD`] coded bytes, so the decoder only
//! steps while that much input is buffered or the chunk's remaining input is all there.

use super::elements::{OpCursor, ValueContext, code_value};
use super::lz::{Decoded, LzItem, LzState, code_item, code_literal};
use super::model::Model;
use super::ops::{OpHeader, OpKind, code_header};
use super::profile::Profile;
use crate::apply::output::Io;
use crate::cast::usize_min;
use crate::codec::op::OpStream;
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
    /// Operations decoded so far, when tracing (host tools only).
    #[cfg(feature = "trace")]
    pub(crate) trace: Option<Vec<crate::apply::trace::OpTrace>>,
}

/// Where the operation stream stands.
#[derive(Debug)]
struct OpState {
    stream: OpStream,
    base_pos: u64,
    op: Option<Active>,
    values: ValueContext,
    lz: LzState,
    base_cache: BaseCache,
}

/// The `size`-byte (1, 2, 4 or 8) little-endian value at the front of `bytes`, without a
/// variable-length copy (a call to `memcpy` per value costs more than the value's decoding).
#[inline(always)]
pub(crate) fn load_le(bytes: &[u8], size: usize) -> u64 {
    match size {
        1 => u64::from(bytes[0]),
        2 => u64::from(u16::from_le_bytes([bytes[0], bytes[1]])),
        4 => u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        _ => u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ]),
    }
}

/// Bytes of the base read ahead for aligned operations, so a value costs no flash read call.
#[derive(Debug)]
struct BaseCache {
    start: u64,
    len: usize,
    buf: [u8; 64],
}

impl BaseCache {
    const fn new() -> Self {
        Self {
            start: 0,
            len: 0,
            buf: [0; 64],
        }
    }

    /// The `size`-byte little-endian value at base offset `pos`.
    #[inline(always)]
    fn read<B: BaseImage, R: ResultImage>(
        &mut self,
        io: &mut Io<'_, '_, B, R>,
        pos: u64,
        size: usize,
    ) -> Result<u64, Error> {
        let end = pos + size as u64;
        if pos < self.start || end > self.start + self.len as u64 {
            // Refill from `pos`; the operation's base range was checked against the base
            // length when it started, so at least `size` bytes are there.
            let n = usize_min(io.base_len() - pos, self.buf.len());
            io.read_base(pos, &mut self.buf[..n])?;
            self.start = pos;
            self.len = n;
        }
        // Below `self.len` (a buffer length) after the refill above, so it fits; per value,
        // hence no second bound.
        #[allow(clippy::cast_possible_truncation)]
        let from = (pos - self.start) as usize;
        Ok(load_le(&self.buf[from..], size))
    }
}

/// The operation being decoded value by value.
#[derive(Debug)]
enum Active {
    /// A literal or aligned operation.
    Typed(OpCursor),
    /// An LZ run with this many bytes left.
    Lz { left: u64 },
}

impl ChunkDecoder {
    /// A decoder for a chunk whose output starts at `chunk_start`.
    pub(crate) fn new(profile: Profile, chunk_start: u64) -> Self {
        Self {
            rc: RangeDecoder::new(),
            started: false,
            profile,
            ops: OpState {
                stream: OpStream::at(chunk_start),
                base_pos: 0,
                op: None,
                values: ValueContext::default(),
                lz: LzState::default(),
                base_cache: BaseCache::new(),
            },
            #[cfg(feature = "trace")]
            trace: None,
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
                        ops.stream.prev_kind,
                        ops.stream.last_distance,
                        &OpHeader::blank(),
                    )
                    .map_err(|_| corrupt(step_at, "bad operation header"))?;
                    if rc.overran() {
                        return Err(corrupt(step_at, "operation header runs past the chunk"));
                    }
                    ops.stream.prev_kind = h.kind as u8;
                    #[cfg(feature = "trace")]
                    let output_start = io.position();
                    ops.start(&h, io, at + step_at as u64)?;
                    #[cfg(feature = "trace")]
                    if let Some(trace) = &mut self.trace {
                        trace.push(crate::apply::trace::OpTrace {
                            kind: h.kind,
                            layout: h.layout,
                            output_start,
                            output_len: if ops.op.is_none() {
                                io.position() - output_start
                            } else {
                                0
                            },
                            payload_start: at + step_at as u64,
                            payload_end: at + (used + rc.position()) as u64,
                        });
                    }
                }
                Some(Active::Lz { left }) => {
                    let pos = io.position();
                    let item = code_item(&mut rc, &mut model, &mut ops.lz, pos, LzItem::Literal);
                    if rc.overran() {
                        return Err(corrupt(step_at, "LZ item runs past the chunk"));
                    }
                    let produced = match item {
                        Decoded::Literal => {
                            let match_byte = if ops.lz.after_match() {
                                read_history(io, pos, ops.lz.reps[0], at + step_at as u64)?
                            } else {
                                0
                            };
                            let prev = ops.values.prev_byte();
                            let byte = code_literal(
                                &mut rc,
                                &mut model,
                                &mut ops.lz,
                                pos,
                                prev,
                                match_byte,
                                0,
                            );
                            if rc.overran() {
                                return Err(corrupt(step_at, "LZ literal runs past the chunk"));
                            }
                            io.push_slice(&[byte], at + step_at as u64)?;
                            1
                        }
                        Decoded::Copy { distance, len } => {
                            if len > *left {
                                return Err(corrupt(step_at, "LZ match overruns its operation"));
                            }
                            copy_history(io, distance, len, at + step_at as u64)?;
                            len
                        }
                    };
                    *left -= produced;
                    ops.values.set_prev_byte(last_byte(io)?);
                    if *left == 0 {
                        ops.op = None;
                        #[cfg(feature = "trace")]
                        finish_trace(
                            &mut self.trace,
                            io.position(),
                            at + (used + rc.position()) as u64,
                        );
                    }
                }
                Some(Active::Typed(cur)) => loop {
                    // Values of one operation back to back, while the input allows.
                    let value_at = used + rc.position();
                    let size = cur.kind().size();
                    let pos = io.position();
                    let old = if cur.aligned {
                        let v = ops.base_cache.read(io, ops.base_pos, size)?;
                        ops.base_pos += size as u64;
                        v
                    } else {
                        0
                    };
                    let value = code_value(&mut rc, &mut model, cur, &mut ops.values, pos, old, 0)
                        .map_err(|_| corrupt(value_at, "value out of range"))?;
                    if rc.overran() {
                        return Err(corrupt(value_at, "value runs past the chunk"));
                    }
                    io.push_value(value, size, at + value_at as u64)?;
                    if cur.done() {
                        ops.op = None;
                        #[cfg(feature = "trace")]
                        finish_trace(
                            &mut self.trace,
                            io.position(),
                            at + (used + rc.position()) as u64,
                        );
                        break;
                    }
                    if !is_rest && input.len() - used - rc.position() < LOOKAHEAD {
                        return Ok(used + rc.position());
                    }
                },
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
            OpKind::Lz => {
                if h.len > io.chunk_left() {
                    return Err(Error::CorruptPayload {
                        offset: at,
                        reason: "operation overruns its chunk",
                    });
                }
                self.op = Some(Active::Lz { left: h.len });
            }
            OpKind::CopyBase => {
                let offset = base_offset(self.stream.base_cursor, h.base_delta)?;
                io.copy_base(offset, h.len, at)?;
                self.stream.base_cursor = offset + h.len;
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
                self.stream.last_distance = h.distance;
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
                    let offset = base_offset(self.stream.base_cursor, h.base_delta)?;
                    if offset
                        .checked_add(bytes)
                        .is_none_or(|end| end > io.base_len())
                    {
                        return Err(Error::BaseOutOfRange { offset, len: bytes });
                    }
                    self.base_pos = offset;
                    self.stream.base_cursor = offset + bytes;
                }
                self.values.start_op();
                self.op = Some(Active::Typed(OpCursor::new(
                    h.layout, aligned, h.residual, h.len,
                )));
            }
        }
        Ok(())
    }
}

/// Closes the last traced operation at output position `output_end` and payload offset
/// `payload_end`.
#[cfg(feature = "trace")]
fn finish_trace(
    trace: &mut Option<Vec<crate::apply::trace::OpTrace>>,
    output_end: u64,
    payload_end: u64,
) {
    if let Some(last) = trace.as_mut().and_then(|t| t.last_mut()) {
        last.output_len = output_end - last.output_start;
        last.payload_end = payload_end;
    }
}

/// The byte `distance` back in the virtual history (base, then result) from result
/// position `pos`.
fn read_history<B: BaseImage, R: ResultImage>(
    io: &mut Io<'_, '_, B, R>,
    pos: u64,
    distance: u64,
    at: u64,
) -> Result<u8, Error> {
    let virtual_pos = io.base_len() + pos;
    let src = virtual_pos
        .checked_sub(distance)
        .filter(|_| distance > 0)
        .ok_or(Error::CorruptPayload {
            offset: at,
            reason: "LZ distance before the base",
        })?;
    let mut b = [0u8; 1];
    if src < io.base_len() {
        io.read_base(src, &mut b)?;
    } else {
        io.read_result(src - io.base_len(), &mut b)?;
    }
    Ok(b[0])
}

/// Appends `len` bytes copied from `distance` back in the virtual history.
fn copy_history<B: BaseImage, R: ResultImage>(
    io: &mut Io<'_, '_, B, R>,
    distance: u64,
    len: u64,
    at: u64,
) -> Result<(), Error> {
    let base_len = io.base_len();
    let src = (base_len + io.position())
        .checked_sub(distance)
        .filter(|_| distance > 0)
        .ok_or(Error::CorruptPayload {
            offset: at,
            reason: "LZ distance before the base",
        })?;
    if src >= base_len {
        return io.copy_result(src - base_len, len, at);
    }
    let from_base = (base_len - src).min(len);
    io.copy_base(src, from_base, at)?;
    if len > from_base {
        io.copy_result(0, len - from_base, at)?;
    }
    Ok(())
}

fn last_byte<B: BaseImage, R: ResultImage>(io: &mut Io<'_, '_, B, R>) -> Result<u8, Error> {
    let mut b = [0u8; 1];
    io.read_result(io.position() - 1, &mut b)?;
    Ok(b[0])
}

#[cfg(test)]
mod tests {
    use crate::apply::testing::{apply, chunk, corrupt_reason};

    #[test]
    fn a_coded_stream_must_open_with_the_range_coders_start() {
        assert_eq!(
            corrupt_reason(apply(&chunk(64, 2, &[0, 0, 0]), &[], 64)),
            "coded stream shorter than its start"
        );
        assert_eq!(
            corrupt_reason(apply(&chunk(64, 2, &[1, 0, 0, 0, 0, 0]), &[], 64)),
            "coded stream does not start with 0"
        );
    }
}
