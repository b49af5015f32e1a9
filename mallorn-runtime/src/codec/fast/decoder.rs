//! Decodes one fast-codec chunk from input that arrives in pieces. Headers and run lengths
//! need at most [`LOOKAHEAD`] bytes; raw bytes stream through in whatever amount is there.

use super::{ALIGNED, COPY_BASE, COPY_RESULT, LITERAL, SHORT_LEN};
use crate::apply::output::Io;
use crate::cast::usize_min;
use crate::error::Error;
use crate::format::varint;
use crate::image::{BaseImage, ResultImage};

// The op tag's low two bits: the decoder's match takes ALIGNED as the remaining value.
const _: () = assert!(COPY_BASE == 0 && COPY_RESULT == 1 && LITERAL == 2 && ALIGNED == 3);

/// Bytes an operation header or a run header needs at most (tag, two varints).
pub(crate) const LOOKAHEAD: usize = 1 + 2 * varint::MAX_LEN;

/// Where the chunk's decoding stands.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Between operations.
    Header,
    /// Inside a literal: raw bytes left.
    Literal { left: u64 },
    /// Inside an aligned run: output bytes left, current base offset, unchanged and changed
    /// bytes left of the current run.
    Aligned {
        left: u64,
        base: u64,
        same: u64,
        changed: u64,
    },
}

/// Decoder state of one chunk.
#[derive(Debug)]
pub(crate) struct ChunkDecoder {
    state: State,
    base_cursor: u64,
}

fn read_varint(input: &[u8], at: &mut usize, offset: u64) -> Result<u64, Error> {
    let (value, n) = varint::decode(&input[*at..]).map_err(|_| Error::CorruptPayload {
        offset: offset + *at as u64,
        reason: "bad varint in fast chunk",
    })?;
    *at += n;
    Ok(value)
}

fn unzigzag(z: u64) -> i64 {
    (z >> 1).cast_signed() ^ -(z & 1).cast_signed()
}

impl ChunkDecoder {
    /// A decoder for a chunk whose output starts at `chunk_start`.
    pub(crate) fn new(chunk_start: u64) -> Self {
        Self {
            state: State::Header,
            base_cursor: chunk_start,
        }
    }

    /// Whether no operation is half-decoded.
    pub(crate) fn between_ops(&self) -> bool {
        matches!(self.state, State::Header)
    }

    /// Decodes from `input` (`is_rest`: it holds the rest of the chunk). Returns bytes used.
    pub(crate) fn decode<B: BaseImage, R: ResultImage>(
        &mut self,
        input: &[u8],
        is_rest: bool,
        io: &mut Io<'_, '_, B, R>,
        at: u64,
    ) -> Result<usize, Error> {
        let mut pos = 0;
        let corrupt = |p: usize, reason| Error::CorruptPayload {
            offset: at + p as u64,
            reason,
        };
        loop {
            let avail = input.len() - pos;
            match &mut self.state {
                State::Header => {
                    if io.chunk_left() == 0 || avail == 0 || (avail < LOOKAHEAD && !is_rest) {
                        return Ok(pos);
                    }
                    let op_at = at + pos as u64;
                    let tag = input[pos];
                    pos += 1;
                    let mut len = u64::from(tag >> 2) + 1;
                    if len == SHORT_LEN + 1 {
                        len = read_varint(input, &mut pos, at)?
                            .checked_add(SHORT_LEN + 1)
                            .ok_or(corrupt(pos, "length out of range"))?;
                    }
                    if len > io.chunk_left() {
                        return Err(corrupt(pos, "operation overruns its chunk"));
                    }
                    match tag & 3 {
                        COPY_BASE => {
                            let offset =
                                self.base_offset(read_varint(input, &mut pos, at)?, op_at)?;
                            io.copy_base(offset, len, op_at)?;
                            self.base_cursor = offset + len;
                        }
                        COPY_RESULT => {
                            let distance = read_varint(input, &mut pos, at)?;
                            let offset = io
                                .position()
                                .checked_sub(distance)
                                .filter(|_| distance > 0)
                                .ok_or(corrupt(pos, "copy from before the result's start"))?;
                            io.copy_result(offset, len, op_at)?;
                        }
                        LITERAL => self.state = State::Literal { left: len },
                        // ALIGNED: the fourth two-bit tag (a match without a panic arm).
                        _ => {
                            let base =
                                self.base_offset(read_varint(input, &mut pos, at)?, op_at)?;
                            if base.checked_add(len).is_none_or(|end| end > io.base_len()) {
                                return Err(Error::BaseOutOfRange { offset: base, len });
                            }
                            self.base_cursor = base + len;
                            self.state = State::Aligned {
                                left: len,
                                base,
                                same: 0,
                                changed: 0,
                            };
                        }
                    }
                }
                State::Literal { left } => {
                    let n = usize_min(*left, avail);
                    if n == 0 {
                        return Ok(pos);
                    }
                    io.push_slice(&input[pos..pos + n], at + pos as u64)?;
                    pos += n;
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = State::Header;
                    }
                }
                State::Aligned {
                    left,
                    base,
                    same,
                    changed,
                } => {
                    if *left == 0 {
                        self.state = State::Header;
                        continue;
                    }
                    if *same == 0 && *changed == 0 {
                        // A new run header.
                        if avail == 0 || (avail < LOOKAHEAD && !is_rest) {
                            return Ok(pos);
                        }
                        let s = read_varint(input, &mut pos, at)?;
                        let c = read_varint(input, &mut pos, at)?;
                        if s.checked_add(c)
                            .is_none_or(|total| total > *left || total == 0)
                        {
                            return Err(corrupt(pos, "run overruns its operation"));
                        }
                        *same = s;
                        *changed = c;
                    }
                    if *same > 0 {
                        io.copy_base(*base, *same, at + pos as u64)?;
                        *base += *same;
                        *left -= *same;
                        *same = 0;
                    }
                    if *changed > 0 {
                        let n = usize_min(*changed, input.len() - pos);
                        if n == 0 {
                            return Ok(pos);
                        }
                        let mut old = [0u8; 64];
                        let mut done = 0;
                        while done < n {
                            let k = (n - done).min(old.len());
                            io.read_base(*base + done as u64, &mut old[..k])?;
                            for (o, d) in
                                old[..k].iter_mut().zip(&input[pos + done..pos + done + k])
                            {
                                *o = o.wrapping_add(*d);
                            }
                            io.push_slice(&old[..k], at + (pos + done) as u64)?;
                            done += k;
                        }
                        pos += n;
                        *base += n as u64;
                        *left -= n as u64;
                        *changed -= n as u64;
                    }
                }
            }
        }
    }

    fn base_offset(&self, zigzag: u64, at: u64) -> Result<u64, Error> {
        self.base_cursor
            .checked_add_signed(unzigzag(zigzag))
            .ok_or(Error::CorruptPayload {
                offset: at,
                reason: "base offset out of range",
            })
    }
}

#[cfg(test)]
mod tests {
    use crate::apply::testing::{apply, chunk, corrupt_reason};
    use crate::error::Error;
    use crate::format::varint;

    const BASE: [u8; 16] = [5; 16];

    /// An operation tag of `kind` for `len` (at most 63) bytes.
    fn tag(kind: u8, len: u8) -> u8 {
        kind | ((len - 1) << 2)
    }

    fn varint(value: u64) -> Vec<u8> {
        let mut buf = [0; varint::MAX_LEN];
        let n = varint::encode(value, &mut buf);
        buf[..n].to_vec()
    }

    /// Decodes one fast chunk of `coded` producing `output_len` bytes over [`BASE`].
    fn decode(coded: &[u8], output_len: u64) -> Result<Vec<u8>, Error> {
        apply(&chunk(output_len, 1, coded), &BASE, output_len)
    }

    #[test]
    fn bad_varints_and_lengths_are_refused() {
        // A long copy-base whose length varint has a redundant zero continuation byte.
        assert_eq!(
            corrupt_reason(decode(&[tag(0, 64), 0x80, 0x00, 0x00], 70)),
            "bad varint in fast chunk"
        );
        let mut huge = vec![tag(2, 64)];
        huge.extend(varint(u64::MAX));
        assert_eq!(corrupt_reason(decode(&huge, 70)), "length out of range");
        // Copy 20 base bytes in a 10-byte chunk: refused where the length is read (payload
        // offset 4, after 3 bytes of framing and the tag), before any byte is copied.
        assert_eq!(
            apply(&chunk(10, 1, &[tag(0, 20), 0x00]), &[5; 32], 10),
            Err(Error::CorruptPayload {
                offset: 4,
                reason: "operation overruns its chunk"
            })
        );
    }

    #[test]
    fn copies_stay_inside_the_result_and_the_base() {
        // Distance 0, and a distance of 3 from result position 0.
        for distance in [0, 3] {
            let mut copy = vec![tag(1, 4)];
            copy.extend(varint(distance));
            assert_eq!(
                corrupt_reason(decode(&copy, 4)),
                "copy from before the result's start"
            );
        }
        // Base cursor 0 moved back by one (zigzag 1 is -1).
        assert_eq!(
            corrupt_reason(decode(&[tag(0, 4), 0x01], 4)),
            "base offset out of range"
        );
        // An aligned operation over base bytes 10..20 of a 16-byte base: refused as a whole
        // before its first run (4 unchanged bytes that are inside the base) is applied.
        let mut coded = vec![tag(3, 10), 20, 4, 6];
        coded.extend([1; 6]);
        assert_eq!(
            decode(&coded, 10),
            Err(Error::BaseOutOfRange {
                offset: 10,
                len: 10
            })
        );
        assert_eq!(decode(&[tag(3, 10), 12, 10, 0], 10).unwrap(), [5; 10]);
    }

    #[test]
    fn an_aligned_run_stays_inside_its_operation() {
        // 5 unchanged and 6 changed bytes in a 10-byte operation, and an empty run.
        for (same, changed) in [(5, 6), (0, 0)] {
            let mut coded = vec![tag(3, 10), 0, same, changed];
            coded.extend([1; 10]);
            assert_eq!(
                corrupt_reason(decode(&coded, 10)),
                "run overruns its operation"
            );
        }
        let mut coded = vec![tag(3, 10), 0, 5, 5];
        coded.extend([1; 5]);
        assert_eq!(decode(&coded, 10).unwrap(), [5, 5, 5, 5, 5, 6, 6, 6, 6, 6]);
    }
}
