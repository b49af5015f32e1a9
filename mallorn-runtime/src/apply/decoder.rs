//! The streaming chunk decoder: takes the plain (authenticated) chunk stream in fragments of
//! any size, decodes chunk after chunk into the result image, and reports its progress after
//! every chunk. It trusts its input no more than it must: every length is checked, but the
//! payload's authenticity is the [`crate::apply::Authenticator`]'s job and the result's
//! digest is checked on what was written (see [`crate::apply::PayloadStream`]).

use crate::apply::checkpoint::Progress;
use crate::apply::output::{Io, Output};
use crate::apply::workspace::Workspace;
use crate::cast::usize_min;
use crate::codec::smallest::Profile;
#[cfg(feature = "smallest")]
use crate::codec::smallest::decoder::ChunkDecoder;
use crate::codec::smallest::decoder::MAX_TAIL;
use crate::codec::{self, CodecId};
use crate::error::Error;
use crate::format::chunk::{ChunkHeader, ChunkHeaderError, ChunkHeaderReader};
use crate::format::{BundleHeader, Flags};
use crate::image::{BaseImage, ResultImage};

/// What one call to [`PayloadDecoder::feed`] achieved.
#[derive(Debug)]
#[must_use = "bytes not consumed must be fed again"]
pub struct Fed {
    /// Bytes of the fragment consumed. Call `feed` again with the rest.
    pub consumed: usize,
    /// Set when a chunk completed: persist it to resume from here after a power cut.
    pub checkpoint: Option<Progress>,
}

/// Per-chunk state of the codec decoding it.
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box into: the chunk decoder's state lives inline"
)]
enum ChunkCodec {
    Stored,
    #[cfg(feature = "fast")]
    Fast(codec::fast::decoder::ChunkDecoder),
    #[cfg(feature = "smallest")]
    Smallest(ChunkDecoder),
}

impl ChunkCodec {
    fn lookahead(&self) -> usize {
        match self {
            Self::Stored => codec::lookahead(CodecId::Stored),
            #[cfg(feature = "fast")]
            Self::Fast(_) => codec::lookahead(CodecId::Fast),
            #[cfg(feature = "smallest")]
            Self::Smallest(_) => codec::lookahead(CodecId::Smallest),
        }
    }

    /// Whether no operation is half-decoded.
    fn between_ops(&self) -> bool {
        match self {
            Self::Stored => true,
            #[cfg(feature = "fast")]
            Self::Fast(d) => d.between_ops(),
            #[cfg(feature = "smallest")]
            Self::Smallest(d) => d.between_ops(),
        }
    }

    #[cfg_attr(not(feature = "smallest"), allow(unused_variables))]
    fn decode<B: BaseImage, R: ResultImage>(
        &mut self,
        model: &mut [u16],
        input: &[u8],
        is_rest: bool,
        io: &mut Io<'_, '_, B, R>,
        at: u64,
    ) -> Result<usize, Error> {
        match self {
            Self::Stored => codec::stored::decode(input, io, at),
            #[cfg(feature = "fast")]
            Self::Fast(d) => d.decode(input, is_rest, io, at),
            #[cfg(feature = "smallest")]
            Self::Smallest(d) => d.decode(model, input, is_rest, io, at),
        }
    }
}

#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box into: the chunk decoder's state lives inline"
)]
enum Stage {
    /// Reading a chunk's framing.
    Framing(ChunkHeaderReader),
    /// Decoding a chunk's coded bytes.
    Body {
        codec: ChunkCodec,
        coded_left: u64,
        staged: usize,
    },
    /// Every chunk is decoded.
    Done,
}

/// Decodes a bundle's plain chunk stream into a result image.
pub struct PayloadDecoder<'w> {
    result_len: u64,
    /// Length of the plain chunk stream.
    payload_len: u64,
    decoders: u16,
    chunk_align: u64,
    /// Plain bytes consumed.
    payload_offset: u64,
    chunks_done: u32,
    stage: Stage,
    staging: &'w mut [u8],
    output: Output<'w>,
    model: &'w mut [u16],
    #[cfg_attr(not(feature = "smallest"), allow(dead_code))]
    profile: Option<Profile>,
    /// What decoded so far, when tracing.
    #[cfg(feature = "trace")]
    trace: Option<crate::apply::trace::Trace>,
}

impl<'w> PayloadDecoder<'w> {
    /// Refuses a `progress` that does not fit the payload `header` describes (`plain_len`
    /// bytes of chunk stream).
    pub(crate) fn check_progress(
        header: &BundleHeader,
        plain_len: u64,
        progress: &Progress,
    ) -> Result<(), Error> {
        if progress.payload_offset > plain_len
            || progress.output_offset > header.result_len
            || (progress.output_offset & (header.chunk_align() - 1)) != 0
                && progress.output_offset != header.result_len
        {
            return Err(Error::CorruptPayload {
                offset: progress.payload_offset,
                reason: "checkpoint does not fit this bundle",
            });
        }
        Ok(())
    }

    /// The decoder at `progress` (checked by [`PayloadDecoder::check_progress`]). It cannot
    /// fail, so a caller builds it where it is to live, with no `Result` in between.
    #[inline(always)]
    pub(crate) fn at(
        header: &BundleHeader,
        ws: Workspace<'w>,
        plain_len: u64,
        progress: &Progress,
    ) -> Self {
        let base_len = if header.flags.contains(Flags::FULL_IMAGE) {
            0
        } else {
            header.base_len
        };
        Self {
            result_len: header.result_len,
            payload_len: plain_len,
            decoders: header.decoders.0,
            chunk_align: header.chunk_align(),
            payload_offset: progress.payload_offset,
            chunks_done: progress.chunks_done,
            stage: if progress.output_offset == header.result_len {
                Stage::Done
            } else {
                Stage::Framing(ChunkHeaderReader::default())
            },
            staging: ws.staging,
            output: Output {
                buf_start: progress.output_offset,
                filled: 0,
                buf: ws.output,
                chunk_left: 0,
                base_len,
            },
            model: ws.model,
            profile: Profile::from_u8(header.coder_profile),
            #[cfg(feature = "trace")]
            trace: None,
        }
    }

    /// Records chunks and operations as they decode (see [`PayloadDecoder::take_trace`]).
    #[cfg(feature = "trace")]
    pub fn enable_trace(&mut self) {
        self.trace = Some(crate::apply::trace::Trace::default());
    }

    /// What decoded so far, if tracing was enabled.
    #[cfg(feature = "trace")]
    pub fn take_trace(&mut self) -> Option<crate::apply::trace::Trace> {
        self.trace.take()
    }

    /// Result bytes produced so far.
    pub fn output_offset(&self) -> u64 {
        self.output.buf_start + self.output.filled as u64
    }

    /// Payload bytes consumed so far.
    pub fn payload_offset(&self) -> u64 {
        self.payload_offset
    }

    /// Whether every chunk has been decoded (call [`PayloadDecoder::finish`] next).
    pub fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Done)
    }

    /// The progress after the last completed chunk.
    pub fn progress(&self) -> Progress {
        Progress {
            chunks_done: self.chunks_done,
            payload_offset: self.payload_offset,
            output_offset: self.output_offset(),
        }
    }

    /// Consumes payload bytes from `data`. Returns after the whole fragment is consumed or
    /// right after a chunk completes (then `checkpoint` is set and the rest of the fragment
    /// must be fed again). Every call with a non-empty fragment consumes at least one byte or
    /// fails.
    pub fn feed<B: BaseImage, R: ResultImage>(
        &mut self,
        data: &[u8],
        base: &mut B,
        result: &mut R,
    ) -> Result<Fed, Error> {
        let mut consumed = 0;
        loop {
            let rest = &data[consumed..];
            match &mut self.stage {
                Stage::Done => {
                    if !rest.is_empty() {
                        return Err(Error::PayloadTooLong);
                    }
                    return Ok(Fed {
                        consumed,
                        checkpoint: None,
                    });
                }
                Stage::Framing(reader) => {
                    if rest.is_empty() {
                        return Ok(Fed {
                            consumed,
                            checkpoint: None,
                        });
                    }
                    let at = self.payload_offset;
                    let (n, header) = reader.push(rest).map_err(|e| Error::CorruptPayload {
                        offset: at,
                        reason: match e {
                            ChunkHeaderError::BadVarint => "bad length in chunk framing",
                            ChunkHeaderError::EmptyChunk => "empty chunk",
                        },
                    })?;
                    self.take(&rest[..n])?;
                    consumed += n;
                    if let Some(h) = header {
                        self.start_chunk(&h, at)?;
                    }
                }
                Stage::Body { .. } => {
                    let n = self.decode_body(rest, base, result)?;
                    consumed += n;
                    if let Stage::Body { coded_left: 0, .. } = self.stage {
                        return Ok(Fed {
                            consumed,
                            checkpoint: Some(self.end_chunk(base, result)?),
                        });
                    }
                    // The body needs more input than this fragment had.
                    return Ok(Fed {
                        consumed,
                        checkpoint: None,
                    });
                }
            }
        }
    }

    /// Checks a chunk's framing against the header and what is left to produce.
    fn start_chunk(&mut self, h: &ChunkHeader, at: u64) -> Result<(), Error> {
        let codec = CodecId::from_u8(h.codec).ok_or(Error::CorruptPayload {
            offset: at,
            reason: "unknown codec id",
        })?;
        if self.decoders & codec.decoder_bit() == 0 {
            return Err(Error::UndeclaredDecoder { codec: h.codec });
        }
        let output_left = self.result_len - self.output_offset();
        let last = h.output_len == output_left;
        if h.output_len > output_left || (!last && (h.output_len & (self.chunk_align - 1)) != 0) {
            return Err(Error::CorruptPayload {
                offset: at,
                reason: "chunk output length does not fit the result",
            });
        }
        if h.coded_len == 0 {
            return Err(Error::CorruptPayload {
                offset: at,
                reason: "chunk without coded bytes",
            });
        }
        if h.coded_len > self.payload_len - self.payload_offset {
            return Err(Error::PayloadTruncated);
        }
        let codec = match codec {
            CodecId::Stored if h.coded_len != h.output_len => {
                return Err(Error::CorruptPayload {
                    offset: at,
                    reason: "stored chunk with different coded length",
                });
            }
            CodecId::Stored => ChunkCodec::Stored,
            #[cfg(feature = "smallest")]
            CodecId::Smallest => {
                let profile = self.profile.ok_or(Error::UnknownCoderProfile)?;
                ChunkCodec::Smallest(ChunkDecoder::new(profile, self.output_offset()))
            }
            #[cfg(feature = "fast")]
            CodecId::Fast => ChunkCodec::Fast(codec::fast::decoder::ChunkDecoder::new(
                self.output_offset(),
            )),
            // Admission refuses such bundles (`Workspace::split`); a chunk cannot get here.
            #[cfg(not(all(feature = "fast", feature = "smallest")))]
            _ => {
                return Err(Error::DecoderNotBuilt {
                    decoders: codec.decoder_bit(),
                });
            }
        };
        #[cfg(feature = "trace")]
        let codec = self.trace_chunk(h, at, codec);
        self.output.chunk_left = h.output_len;
        self.stage = Stage::Body {
            codec,
            coded_left: h.coded_len,
            staged: 0,
        };
        Ok(())
    }

    /// Records a chunk starting at payload offset `at` and has its operations traced.
    #[cfg(feature = "trace")]
    #[cfg_attr(not(feature = "smallest"), allow(unused_mut))]
    fn trace_chunk(&mut self, h: &ChunkHeader, at: u64, mut codec: ChunkCodec) -> ChunkCodec {
        if let Some(trace) = &mut self.trace {
            trace.chunks.push(crate::apply::trace::ChunkTrace {
                codec: CodecId::from_u8(h.codec).unwrap_or(CodecId::Stored),
                output_start: self.output.buf_start + self.output.filled as u64,
                output_len: h.output_len,
                payload_start: at,
                payload_len: self.payload_offset - at + h.coded_len,
            });
            #[cfg(feature = "smallest")]
            if let ChunkCodec::Smallest(d) = &mut codec {
                d.trace = Some(Vec::new());
            }
        }
        codec
    }

    /// Counts payload bytes as they are consumed.
    fn take(&mut self, bytes: &[u8]) -> Result<(), Error> {
        take(&mut self.payload_offset, self.payload_len, bytes)
    }

    /// Decodes as much of the current chunk as `rest` allows; returns bytes consumed. Input
    /// goes straight from the fragment to the codec when the fragment gives it enough
    /// lookahead, and through the staging buffer otherwise.
    fn decode_body<B: BaseImage, R: ResultImage>(
        &mut self,
        rest: &[u8],
        base: &mut B,
        result: &mut R,
    ) -> Result<usize, Error> {
        let Stage::Body {
            codec,
            coded_left,
            staged,
        } = &mut self.stage
        else {
            return Ok(0);
        };
        let lookahead = codec.lookahead();
        let mut consumed = 0;
        while *coded_left > 0 {
            let input_left = &rest[consumed..];
            let avail = usize_min(*coded_left - *staged as u64, input_left.len());
            if self.output.chunk_left == 0 && codec.between_ops() {
                // Output complete: what is left is the coder's flush, consumed but not decoded.
                if *coded_left > MAX_TAIL {
                    return Err(Error::CorruptPayload {
                        offset: self.payload_offset,
                        reason: "data after the end of a chunk",
                    });
                }
                // `avail` is already at most `coded_left - staged`.
                let n = avail;
                take(&mut self.payload_offset, self.payload_len, &input_left[..n])?;
                consumed += n;
                *coded_left -= (n + *staged) as u64;
                *staged = 0;
                if *coded_left > 0 {
                    break;
                }
                continue;
            }
            let mut io = Io {
                out: &mut self.output,
                base,
                result,
            };
            if *staged == 0 && (avail as u64 == *coded_left || avail >= lookahead) {
                let input = &input_left[..avail];
                let is_rest = avail as u64 == *coded_left;
                let used =
                    codec.decode(self.model, input, is_rest, &mut io, self.payload_offset)?;
                take(&mut self.payload_offset, self.payload_len, &input[..used])?;
                consumed += used;
                *coded_left -= used as u64;
                if used == 0 && (is_rest || !(self.output.chunk_left == 0 && codec.between_ops())) {
                    return Err(Error::CorruptPayload {
                        offset: self.payload_offset,
                        reason: "decoder made no progress",
                    });
                }
                continue;
            }
            let room = (self.staging.len() - *staged).min(avail);
            self.staging[*staged..*staged + room].copy_from_slice(&input_left[..room]);
            take(
                &mut self.payload_offset,
                self.payload_len,
                &input_left[..room],
            )?;
            consumed += room;
            *staged += room;
            let is_rest = *staged as u64 == *coded_left;
            if *staged < lookahead && !is_rest {
                break;
            }
            let at = self.payload_offset - *staged as u64;
            let used = codec.decode(self.model, &self.staging[..*staged], is_rest, &mut io, at)?;
            if used == 0 && !(self.output.chunk_left == 0 && codec.between_ops()) {
                return Err(Error::CorruptPayload {
                    offset: at,
                    reason: "decoder made no progress",
                });
            }
            move_to_front(self.staging, used, *staged);
            *staged -= used;
            *coded_left -= used as u64;
        }
        Ok(consumed)
    }

    /// Closes a chunk: its output must be complete; flushes it and makes a checkpoint.
    fn end_chunk<B: BaseImage, R: ResultImage>(
        &mut self,
        base: &mut B,
        result: &mut R,
    ) -> Result<Progress, Error> {
        if self.output.chunk_left != 0 {
            return Err(Error::CorruptPayload {
                offset: self.payload_offset,
                reason: "chunk produced less output than declared",
            });
        }
        let mut io = Io {
            out: &mut self.output,
            base,
            result,
        };
        io.flush()?;
        #[cfg(all(feature = "trace", feature = "smallest"))]
        if let (
            Some(trace),
            Stage::Body {
                codec: ChunkCodec::Smallest(d),
                ..
            },
        ) = (&mut self.trace, &mut self.stage)
        {
            trace.ops.extend(d.trace.take().unwrap_or_default());
        }
        self.chunks_done = self.chunks_done.saturating_add(1);
        self.stage = if self.output_offset() == self.result_len {
            if self.payload_offset != self.payload_len {
                // A stream that goes on after the result is complete is not a bundle's: no
                // progress is reported for it.
                return Err(Error::CorruptPayload {
                    offset: self.payload_offset,
                    reason: "payload continues after the last chunk",
                });
            }
            Stage::Done
        } else {
            Stage::Framing(ChunkHeaderReader::default())
        };
        Ok(self.progress())
    }

    /// Checks that every chunk was decoded and the whole chunk stream consumed.
    pub fn finish(&self) -> Result<(), Error> {
        if !self.is_complete() || self.payload_offset != self.payload_len {
            return Err(Error::PayloadTruncated);
        }
        Ok(())
    }
}

fn take(offset: &mut u64, limit: u64, bytes: &[u8]) -> Result<(), Error> {
    let end = *offset + bytes.len() as u64;
    if end > limit {
        return Err(Error::PayloadTooLong);
    }
    *offset = end;
    Ok(())
}

/// Moves `buf[from..len]` to the front of `buf` in pieces of at most `from` bytes, so no
/// piece overlaps its destination: plain copies, where `copy_within` would link `memmove`
/// (1.5 KiB on a Cortex-M4) for the few bytes of lookahead a codec left unused.
fn move_to_front(buf: &mut [u8], from: usize, len: usize) {
    let mut done = 0;
    while from > 0 && done + from < len {
        let n = from.min(len - done - from);
        let (front, rest) = buf.split_at_mut(done + from);
        front[done..done + n].copy_from_slice(&rest[..n]);
        done += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::Checkpoint;
    use crate::apply::stream::PayloadStream;
    use crate::apply::testing::{apply, chunk, chunk_declaring, corrupt_reason, forged, run};
    use crate::format::Decoders;
    use crate::image::SliceResult;

    const BASE: [u8; 100] = [3; 100];

    #[test]
    fn move_to_front_equals_copy_within() {
        for len in 0..=20 {
            for from in 0..=len {
                let fresh: Vec<u8> = (0..24).collect();
                let (mut moved, mut expected) = (fresh.clone(), fresh);
                move_to_front(&mut moved, from, len);
                expected.copy_within(from..len, 0);
                assert_eq!(moved[..len - from], expected[..len - from], "{from}..{len}");
            }
        }
    }

    /// A fast-codec literal operation of `bytes` (at most 63 bytes).
    fn fast_literal(bytes: &[u8]) -> Vec<u8> {
        let mut coded = vec![2 | ((bytes.len() as u8 - 1) << 2)];
        coded.extend_from_slice(bytes);
        coded
    }

    #[test]
    fn a_genuine_two_chunk_stream_applies() {
        let mut plain = chunk(64, 0, &[1; 64]);
        plain.extend(chunk(36, 1, &fast_literal(&[2; 36])));
        let mut expected = vec![1; 64];
        expected.extend([2; 36]);
        assert_eq!(apply(&plain, &BASE, 100).unwrap(), expected);
    }

    #[test]
    fn bad_chunk_framing_is_refused() {
        // A varint with a redundant zero continuation byte.
        assert_eq!(
            corrupt_reason(apply(&[0x80, 0x00, 0, 0], &BASE, 64)),
            "bad length in chunk framing"
        );
        assert_eq!(
            corrupt_reason(apply(&chunk(0, 0, &[]), &BASE, 64)),
            "empty chunk"
        );
    }

    #[test]
    fn unknown_and_undeclared_codecs_are_refused() {
        assert_eq!(
            corrupt_reason(apply(&chunk(64, 3, &[0; 64]), &BASE, 64)),
            "unknown codec id"
        );
        let plain = chunk(64, 1, &fast_literal(&[1; 63]));
        let (mut header, wire) = forged(&plain, &BASE, 64);
        header.decoders = Decoders(Decoders::STORED);
        assert_eq!(
            run(&header, &wire, &BASE),
            Err(Error::UndeclaredDecoder { codec: 1 })
        );
    }

    #[test]
    fn a_smallest_chunk_needs_a_known_coder_profile() {
        let plain = chunk(64, 2, &[0; 16]);
        let (mut header, wire) = forged(&plain, &BASE, 64);
        header.coder_profile = 9;
        assert_eq!(run(&header, &wire, &BASE), Err(Error::UnknownCoderProfile));
    }

    #[test]
    fn chunk_output_must_fit_the_result_and_its_alignment() {
        // Longer than the result.
        assert_eq!(
            corrupt_reason(apply(&chunk(65, 0, &[0; 65]), &BASE, 64)),
            "chunk output length does not fit the result"
        );
        // Not the last chunk, and not a multiple of the 64-byte alignment.
        let mut plain = chunk(50, 0, &[0; 50]);
        plain.extend(chunk(50, 0, &[0; 50]));
        assert_eq!(
            corrupt_reason(apply(&plain, &BASE, 100)),
            "chunk output length does not fit the result"
        );
    }

    #[test]
    fn chunk_coded_lengths_are_checked() {
        assert_eq!(
            corrupt_reason(apply(&chunk(64, 1, &[]), &BASE, 64)),
            "chunk without coded bytes"
        );
        assert_eq!(
            apply(&chunk_declaring(64, 1000, 0, &[0; 64]), &BASE, 64),
            Err(Error::PayloadTruncated)
        );
        assert_eq!(
            corrupt_reason(apply(&chunk(64, 0, &[0; 63]), &BASE, 64)),
            "stored chunk with different coded length"
        );
    }

    #[test]
    fn a_chunk_must_produce_exactly_its_output() {
        // The flush may leave up to 8 bytes after the last operation; 9 are refused.
        let mut coded = fast_literal(&[1; 10]);
        coded.extend([0; 8]);
        assert_eq!(apply(&chunk(10, 1, &coded), &BASE, 10).unwrap(), [1; 10]);
        coded.push(0);
        assert_eq!(
            corrupt_reason(apply(&chunk(10, 1, &coded), &BASE, 10)),
            "data after the end of a chunk"
        );
        // The coded bytes end after 4 of the 10 bytes declared.
        assert_eq!(
            corrupt_reason(apply(&chunk(10, 1, &fast_literal(&[1; 4])), &BASE, 10)),
            "chunk produced less output than declared"
        );
    }

    #[test]
    fn the_stream_ends_with_the_last_chunk() {
        let mut plain = chunk(64, 0, &[0; 64]);
        plain.push(0);
        assert_eq!(
            corrupt_reason(apply(&plain, &BASE, 64)),
            "payload continues after the last chunk"
        );
        // An empty result takes no chunk at all.
        assert_eq!(apply(&[0], &BASE, 0), Err(Error::PayloadTooLong));
        // Every chunk present and whole, but the result needs one more.
        assert_eq!(
            apply(&chunk(64, 0, &[0; 64]), &BASE, 100),
            Err(Error::PayloadTruncated)
        );
    }

    #[test]
    fn a_checkpoint_that_does_not_fit_the_result_is_refused() {
        let mut plain = chunk(64, 0, &[1; 64]);
        plain.extend(chunk(36, 0, &[2; 36]));
        let (header, wire) = forged(&plain, &BASE, 100);
        let mut work = vec![0u8; header.ram_required as usize];
        let mut out = vec![0u8; 100];
        let mut stream = PayloadStream::new(&header, &mut work).unwrap();
        let fed = stream
            .feed(&wire, &mut &BASE[..], &mut SliceResult::new(&mut out))
            .unwrap();
        let good = fed.checkpoint.unwrap();
        assert_eq!(good.progress.output_offset, 64);
        // Authentication accepts these (same segment, same plain offset); the result does
        // not: an output offset off the chunk alignment, and one beyond the result.
        for output_offset in [65, 101] {
            let bad = Checkpoint {
                progress: Progress {
                    output_offset,
                    ..good.progress
                },
                ..good
            };
            let mut work = vec![0u8; header.ram_required as usize];
            assert_eq!(
                corrupt_reason(PayloadStream::resume(&header, &mut work, &bad).map(|_| ())),
                "checkpoint does not fit this bundle"
            );
        }
        let mut work = vec![0u8; header.ram_required as usize];
        assert!(PayloadStream::resume(&header, &mut work, &good).is_ok());
    }
}
