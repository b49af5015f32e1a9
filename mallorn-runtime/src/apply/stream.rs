//! The payload as it arrives: wire fragments of any size go through the
//! [`Authenticator`], and only authenticated plain bytes reach the [`PayloadDecoder`]. Every
//! checkpoint it reports was reached on authenticated bytes alone.

use crate::apply::authenticator::{Authenticator, SegmentResume};
use crate::apply::checkpoint::{Checkpoint, Progress};
use crate::apply::decoder::PayloadDecoder;
use crate::apply::workspace::Workspace;
use crate::error::Error;
use crate::format::BundleHeader;
use crate::format::segments::Segments;
use crate::image::{BaseImage, ResultImage};

/// What one call to [`PayloadStream::feed`] achieved.
#[derive(Debug)]
#[must_use = "bytes not consumed must be fed again"]
pub struct StreamFed {
    /// Wire bytes of the fragment consumed. Call `feed` again with the rest.
    pub consumed: usize,
    /// Set when a chunk completed: persist it to resume from here after a power cut.
    pub checkpoint: Option<Checkpoint>,
}

/// Authenticates and decodes one bundle's payload.
pub struct PayloadStream<'w> {
    layout: Segments,
    auth: Authenticator<'w>,
    decoder: PayloadDecoder<'w>,
}

/// Where a stream starts, checked against its bundle and its work buffer: everything that can
/// refuse a stream is decided here, before any of it is built. A caller checks a stream
/// before it writes anything, then builds it where it is to live ([`PayloadStream::at`]),
/// with no stream-sized `Result` in between.
pub(crate) struct StreamStart<'w> {
    layout: Segments,
    ws: Workspace<'w>,
    segment: &'w mut [u8],
    resume: SegmentResume,
    skip: usize,
    progress: Progress,
}

impl StreamStart<'_> {
    /// Result bytes the stream has produced when it starts.
    pub(crate) fn output_offset(&self) -> u64 {
        self.progress.output_offset
    }
}

impl<'w> PayloadStream<'w> {
    /// Starts at the beginning of the payload described by `header` (whose signature the
    /// caller has checked), using `work` (at least `header.ram_required` bytes) for every
    /// buffer.
    pub fn new(header: &BundleHeader, work: &'w mut [u8]) -> Result<Self, Error> {
        let start = Self::check(header, work, None)?;
        Ok(Self::at(header, start))
    }

    /// Continues from a checkpoint reported by an earlier run over the same bundle. The
    /// result image must still hold the first `checkpoint.progress.output_offset` bytes.
    pub fn resume(
        header: &BundleHeader,
        work: &'w mut [u8],
        checkpoint: &Checkpoint,
    ) -> Result<Self, Error> {
        let start = Self::check(header, work, Some(checkpoint))?;
        Ok(Self::at(header, start))
    }

    /// Checks a stream over `header`'s payload in `work`, from its beginning or from
    /// `checkpoint`: the payload's segment layout, the work buffer (the decoders this build
    /// has, the stated RAM and the buffer's length), then the checkpoint against the layout.
    pub(crate) fn check(
        header: &BundleHeader,
        work: &'w mut [u8],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<StreamStart<'w>, Error> {
        let layout = header.segments()?;
        let mut ws = Workspace::split(header, work)?;
        let segment = core::mem::take(&mut ws.segment);
        let (resume, progress) = match checkpoint {
            None => (
                SegmentResume {
                    segment: 0,
                    sha256: header.payload_sha256,
                },
                Progress::START,
            ),
            Some(checkpoint) => (
                Self::resume_point(&layout, checkpoint)?,
                checkpoint.progress,
            ),
        };
        let skip =
            Authenticator::check_resume(layout, &resume, progress.payload_offset, segment.len())?;
        PayloadDecoder::check_progress(header, layout.plain_len, &progress)?;
        Ok(StreamStart {
            layout,
            ws,
            segment,
            resume,
            skip,
            progress,
        })
    }

    /// The segment a resume from `checkpoint` fetches again, refusing a checkpoint whose wire
    /// offset is not that segment's start.
    fn resume_point(layout: &Segments, checkpoint: &Checkpoint) -> Result<SegmentResume, Error> {
        let plain = checkpoint.progress.payload_offset;
        let resume = SegmentResume {
            segment: if plain == layout.plain_len {
                layout.count
            } else {
                layout.segment_of(plain)
            },
            sha256: checkpoint.segment_sha256,
        };
        if checkpoint.wire_offset != layout.wire_start(resume.segment).min(layout.wire_len) {
            return Err(Error::CorruptPayload {
                offset: plain,
                reason: "checkpoint does not fit this bundle",
            });
        }
        Ok(resume)
    }

    /// The stream `start` describes. It cannot fail, so a caller builds it where it is to
    /// live.
    #[inline(always)]
    pub(crate) fn at(header: &BundleHeader, start: StreamStart<'w>) -> Self {
        let layout = start.layout;
        Self {
            layout,
            auth: Authenticator::at(layout, &start.resume, start.skip, start.segment),
            decoder: PayloadDecoder::at(header, start.ws, layout.plain_len, &start.progress),
        }
    }

    /// Wire payload offset the next fragment must start at.
    pub fn wire_offset(&self) -> u64 {
        self.auth.wire_offset()
    }

    /// Result bytes produced so far.
    pub fn output_offset(&self) -> u64 {
        self.decoder.output_offset()
    }

    /// Whether the whole payload was authenticated and decoded.
    pub fn is_complete(&self) -> bool {
        self.auth.is_complete() && self.decoder.is_complete()
    }

    /// The chunk decoder (for tracing on hosts).
    pub fn decoder(&mut self) -> &mut PayloadDecoder<'w> {
        &mut self.decoder
    }

    /// Consumes wire bytes from `wire`, which must start at [`PayloadStream::wire_offset`].
    /// Returns right after a chunk completes (then `checkpoint` is set: persist it and call
    /// `feed` again with the rest of the fragment, even if that is empty, since authenticated
    /// bytes may wait), or once the whole fragment is consumed and nothing waits (then
    /// `checkpoint` is `None`). A segment that fails authentication is an error that leaves
    /// the stream usable: feed again from `wire_offset`.
    pub fn feed<B: BaseImage, R: ResultImage>(
        &mut self,
        wire: &[u8],
        base: &mut B,
        result: &mut R,
    ) -> Result<StreamFed, Error> {
        let mut consumed = 0;
        loop {
            let pending = self.auth.pending();
            if !pending.is_empty() {
                let fed = self.decoder.feed(pending, base, result)?;
                self.auth.release(fed.consumed);
                if let Some(progress) = fed.checkpoint {
                    let resume = self.auth.resume_point(progress.payload_offset);
                    return Ok(StreamFed {
                        consumed,
                        checkpoint: Some(Checkpoint {
                            progress,
                            wire_offset: self
                                .layout
                                .wire_start(resume.segment)
                                .min(self.layout.wire_len),
                            segment_sha256: resume.sha256,
                        }),
                    });
                }
                if fed.consumed == 0 {
                    return Err(Error::CorruptPayload {
                        offset: self.decoder.payload_offset(),
                        reason: "decoder made no progress",
                    });
                }
                continue;
            }
            let rest = &wire[consumed..];
            if rest.is_empty() {
                return Ok(StreamFed {
                    consumed,
                    checkpoint: None,
                });
            }
            if self.auth.is_complete() {
                // Every payload byte is in. If the decoder is not done, the signed payload
                // itself ends inside a chunk (`PayloadTruncated`); if it is, `rest` lies past
                // the payload's end and is none of the bundle's.
                self.decoder.finish()?;
                return Err(Error::PayloadTooLong);
            }
            consumed += self.auth.push(rest)?;
        }
    }

    /// Checks that the whole payload was authenticated and decoded; returns the segment
    /// buffer, free for reading the result back (the stream takes no more bytes after that).
    pub fn finish(&mut self) -> Result<&mut [u8], Error> {
        if !self.auth.is_complete() {
            // An empty stream is one empty segment: nothing to feed, still to authenticate.
            self.auth.push(&[])?;
            self.auth.release(0);
        }
        if !self.auth.is_complete() {
            return Err(Error::PayloadTruncated);
        }
        self.decoder.finish()?;
        Ok(self.auth.buffer_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::testing::{chunk, corrupt_reason, forged};
    use crate::image::SliceResult;

    const BASE: [u8; 10] = [3; 10];

    /// Feeds `wire` (a payload whose result is 64 bytes of [`BASE`]'s update) until the stream
    /// refuses it; returns the error and the bytes not taken.
    fn feed_until_refused<'a>(header: &BundleHeader, wire: &'a [u8]) -> (Error, &'a [u8]) {
        let mut work = vec![0u8; header.ram_required as usize];
        let mut out = [0u8; 64];
        let mut result = SliceResult::new(&mut out);
        let mut stream = PayloadStream::new(header, &mut work).unwrap();
        let mut rest = wire;
        loop {
            match stream.feed(rest, &mut &BASE[..], &mut result) {
                Ok(fed) => rest = &rest[fed.consumed..],
                Err(e) => return (e, rest),
            }
        }
    }

    #[test]
    fn a_signed_payload_that_ends_inside_a_chunk_is_truncated() {
        // Not `PayloadTooLong`, which tells the caller the payload is complete. (The chunk
        // header already shows the payload too short; `feed`'s check when every payload byte
        // is in guards the same for any decoder that could not tell.)
        let plain = chunk(64, 0, &[1; 64]);
        let (header, mut wire) = forged(&plain[..plain.len() - 10], &BASE, 64);
        wire.push(0);
        let (err, _) = feed_until_refused(&header, &wire);
        assert_eq!(err, Error::PayloadTruncated);
    }

    #[test]
    fn wire_bytes_past_the_payload_are_refused() {
        let (header, mut wire) = forged(&chunk(64, 0, &[1; 64]), &BASE, 64);
        wire.push(0);
        let (err, rest) = feed_until_refused(&header, &wire);
        assert_eq!(err, Error::PayloadTooLong);
        assert_eq!(rest, [0], "only the extra byte is refused");
    }

    #[test]
    fn a_checkpoint_at_another_wire_offset_is_refused() {
        // 517 plain bytes in the first chunk: the checkpoint after it lies in the second
        // segment, which starts at wire offset 512 + 32.
        let mut plain = chunk(512, 0, &[1; 512]);
        plain.extend(chunk(64, 0, &[2; 64]));
        let (header, wire) = forged(&plain, &BASE, 576);
        let mut work = vec![0u8; header.ram_required as usize];
        let mut out = [0u8; 576];
        let mut stream = PayloadStream::new(&header, &mut work).unwrap();
        let checkpoint = stream
            .feed(&wire, &mut &BASE[..], &mut SliceResult::new(&mut out))
            .unwrap()
            .checkpoint
            .unwrap();
        assert_eq!(checkpoint.wire_offset, 544);
        let moved = Checkpoint {
            wire_offset: 0,
            ..checkpoint
        };
        let mut work = vec![0u8; header.ram_required as usize];
        assert_eq!(
            corrupt_reason(PayloadStream::resume(&header, &mut work, &moved).map(|_| ())),
            "checkpoint does not fit this bundle"
        );
        let mut work = vec![0u8; header.ram_required as usize];
        assert!(PayloadStream::resume(&header, &mut work, &checkpoint).is_ok());
    }
}
