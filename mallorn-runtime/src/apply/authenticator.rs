//! Authenticate before decode: wire payload bytes collect in a one-segment buffer, and a
//! segment's plain bytes are released to the decoder only once the whole segment hashes to
//! the value the signed header (or the previous, already authenticated segment) binds it to.
//! See [`crate::format::segments`] for the chain.

use crate::cast::{usize_min, usize_saturating};
use crate::error::Error;
use crate::format::segments::{LINK_LEN, Segments};
use crate::hash::sha256;

/// Where an authenticated stream stands after a decoder checkpoint: the segment to fetch
/// again on resume and the hash it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentResume {
    /// Index of the segment holding the resume offset.
    pub segment: u64,
    /// Its expected SHA-256 (zero when the stream is complete).
    pub sha256: [u8; 32],
}

/// Buffers and checks wire segments.
pub struct Authenticator<'w> {
    layout: Segments,
    buf: &'w mut [u8],
    /// Segment being collected, or whose plain bytes are being released.
    segment: u64,
    /// The hash `segment` must have.
    expected: [u8; 32],
    /// Wire bytes of `segment` collected so far.
    filled: usize,
    /// Set once `segment` is authenticated: plain bytes released so far.
    released: Option<usize>,
    /// Plain bytes of the first authenticated segment to drop (already applied before a
    /// resume).
    skip: usize,
}

impl<'w> Authenticator<'w> {
    /// Starts at the first segment, which must hash to `head` (the header's value). `buf` must
    /// hold one wire segment.
    pub fn new(layout: Segments, head: [u8; 32], buf: &'w mut [u8]) -> Result<Self, Error> {
        Self::resume(
            layout,
            SegmentResume {
                segment: 0,
                sha256: head,
            },
            0,
            buf,
        )
    }

    /// Continues at `resume.segment`, dropping the first `plain_offset - segment start` plain
    /// bytes once it is authenticated (they were applied before the interruption).
    pub fn resume(
        layout: Segments,
        resume: SegmentResume,
        plain_offset: u64,
        buf: &'w mut [u8],
    ) -> Result<Self, Error> {
        let skip = Self::check_resume(layout, &resume, plain_offset, buf.len())?;
        Ok(Self::at(layout, &resume, skip, buf))
    }

    /// Refuses a resume point that does not fit `layout`, or a segment buffer of `buf_len`
    /// bytes that cannot hold a wire segment. Returns the plain bytes to drop from the first
    /// authenticated segment.
    pub(crate) fn check_resume(
        layout: Segments,
        resume: &SegmentResume,
        plain_offset: u64,
        buf_len: usize,
    ) -> Result<usize, Error> {
        let needed = usize_saturating(layout.segment_len).saturating_add(LINK_LEN);
        if buf_len < needed {
            return Err(Error::WorkBufferTooSmall {
                needed,
                got: buf_len,
            });
        }
        let bad = Error::CorruptPayload {
            offset: plain_offset,
            reason: "checkpoint does not fit this bundle",
        };
        if resume.segment == layout.count && plain_offset == layout.plain_len {
            Ok(0) // complete
        } else if resume.segment < layout.count {
            plain_offset
                .checked_sub(layout.plain_start(resume.segment))
                .filter(|&s| s < layout.plain_len_of(resume.segment).max(1))
                .and_then(|s| usize::try_from(s).ok())
                .ok_or(bad)
        } else {
            Err(bad)
        }
    }

    /// The authenticator at `resume`, `skip` from [`Authenticator::check_resume`]. It cannot
    /// fail, so a caller builds it where it is to live.
    #[inline(always)]
    pub(crate) fn at(
        layout: Segments,
        resume: &SegmentResume,
        skip: usize,
        buf: &'w mut [u8],
    ) -> Self {
        Self {
            layout,
            buf,
            segment: resume.segment,
            expected: resume.sha256,
            filled: 0,
            released: None,
            skip,
        }
    }

    /// The wire offset the next fed byte belongs at.
    pub fn wire_offset(&self) -> u64 {
        if self.is_complete() {
            return self.layout.wire_len;
        }
        self.layout.wire_start(self.segment) + self.filled as u64
    }

    /// Whether every segment was authenticated and released.
    pub fn is_complete(&self) -> bool {
        self.segment >= self.layout.count
    }

    /// Takes wire bytes into the current segment; returns how many. Takes nothing while
    /// authenticated bytes wait to be released. When the segment completes it is checked: on
    /// a mismatch it is dropped (feed it again from [`Authenticator::wire_offset`]).
    pub fn push(&mut self, wire: &[u8]) -> Result<usize, Error> {
        if self.released.is_some() || self.is_complete() {
            return Ok(0);
        }
        // At most `segment_len + LINK_LEN`, which `resume` checked fits `buf`.
        let wire_len = usize_min(self.layout.wire_len_of(self.segment), self.buf.len());
        let n = (wire_len - self.filled).min(wire.len());
        self.buf[self.filled..self.filled + n].copy_from_slice(&wire[..n]);
        self.filled += n;
        if self.filled == wire_len {
            if sha256(&self.buf[..wire_len]) != self.expected {
                let error = Error::PayloadSegmentMismatch {
                    segment: self.segment,
                    wire_offset: self.layout.wire_start(self.segment),
                };
                self.filled = 0;
                return Err(error);
            }
            self.released = Some(core::mem::take(&mut self.skip));
        }
        Ok(n)
    }

    /// Authenticated plain bytes not yet released.
    pub fn pending(&self) -> &[u8] {
        match self.released {
            Some(from) => &self.buf[from..self.data_len()],
            None => &[],
        }
    }

    /// Marks `n` pending bytes as released; moves to the next segment when all are.
    pub fn release(&mut self, n: usize) {
        let data_len = self.data_len();
        let Some(from) = self.released.as_mut() else {
            return;
        };
        *from = (*from + n).min(data_len);
        if *from == data_len {
            if self.segment + 1 < self.layout.count {
                self.expected
                    .copy_from_slice(&self.buf[data_len..data_len + LINK_LEN]);
            }
            self.segment += 1;
            self.filled = 0;
            self.released = None;
        }
    }

    /// The resume point for plain offset `plain` (a decoder checkpoint), which lies in the
    /// segment being released or at its end.
    pub fn resume_point(&self, plain: u64) -> SegmentResume {
        if self.is_complete() || plain >= self.layout.plain_len {
            return SegmentResume {
                segment: self.layout.count,
                sha256: [0; 32],
            };
        }
        let segment = self.layout.segment_of(plain);
        if segment == self.segment {
            return SegmentResume {
                segment,
                sha256: self.expected,
            };
        }
        // The checkpoint is at the end of the segment being released: the next segment's
        // hash is its link.
        let data_len = self.data_len();
        let mut sha256 = [0; 32];
        sha256.copy_from_slice(&self.buf[data_len..data_len + LINK_LEN]);
        SegmentResume { segment, sha256 }
    }

    /// Plain bytes of the current segment (at most `segment_len`, which fits `buf` with its
    /// link).
    fn data_len(&self) -> usize {
        usize_min(
            self.layout.plain_len_of(self.segment),
            self.buf.len().saturating_sub(LINK_LEN),
        )
    }

    /// The segment buffer, for other uses once the stream is complete.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::segments::{MIN_SEGMENT_LOG2, chain};

    fn plain() -> std::vec::Vec<u8> {
        (0..1500u32).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Pushes `wire` in pieces of `piece`, releasing everything; returns the plain bytes.
    fn run(auth: &mut Authenticator<'_>, wire: &[u8], piece: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let mut at = auth.wire_offset() as usize;
        while at < wire.len() {
            let end = (at + piece).min(wire.len());
            let mut rest = &wire[at..end];
            while !rest.is_empty() {
                let n = auth.push(rest)?;
                rest = &rest[n..];
                let pending = auth.pending().to_vec();
                out.extend_from_slice(&pending);
                auth.release(pending.len());
            }
            at = end;
        }
        Ok(out)
    }

    #[test]
    fn releases_the_plain_stream_in_any_fragment_size() {
        let (wire, head) = chain(&plain(), MIN_SEGMENT_LOG2).unwrap();
        let layout = Segments::from_wire(MIN_SEGMENT_LOG2, wire.len() as u64).unwrap();
        for piece in [1, 7, 512, 544, 5000] {
            let mut buf = [0u8; 544];
            let mut auth = Authenticator::new(layout, head, &mut buf).unwrap();
            assert_eq!(run(&mut auth, &wire, piece).unwrap(), plain());
            assert!(auth.is_complete());
        }
    }

    #[test]
    fn a_tampered_segment_releases_nothing_and_is_taken_again() {
        let (wire, head) = chain(&plain(), MIN_SEGMENT_LOG2).unwrap();
        let layout = Segments::from_wire(MIN_SEGMENT_LOG2, wire.len() as u64).unwrap();
        for at in [0, 300, 511, 512, 543, 544, 1100, wire.len() - 1] {
            let mut bad = wire.clone();
            bad[at] ^= 0x40;
            let mut buf = [0u8; 544];
            let mut auth = Authenticator::new(layout, head, &mut buf).unwrap();
            let segment = at as u64 / 544;
            let released_before = layout.plain_start(segment) as usize;
            let mut out = Vec::new();
            let mut rest = &bad[..];
            let err = loop {
                match auth.push(rest) {
                    Ok(n) => rest = &rest[n..],
                    Err(e) => break e,
                }
                let pending = auth.pending().to_vec();
                out.extend_from_slice(&pending);
                auth.release(pending.len());
            };
            assert_eq!(
                err,
                Error::PayloadSegmentMismatch {
                    segment,
                    wire_offset: segment * 544
                }
            );
            assert_eq!(out.len(), released_before, "tamper at {at}");
            assert_eq!(auth.wire_offset(), segment * 544);
            // The genuine bytes from there on finish the stream.
            out.extend(run(&mut auth, &wire, 100).unwrap());
            assert_eq!(out, plain());
        }
    }

    #[test]
    fn a_buffer_shorter_than_a_wire_segment_is_refused() {
        let (wire, head) = chain(&plain(), MIN_SEGMENT_LOG2).unwrap();
        let layout = Segments::from_wire(MIN_SEGMENT_LOG2, wire.len() as u64).unwrap();
        let mut buf = [0u8; 543];
        assert_eq!(
            Authenticator::new(layout, head, &mut buf).err(),
            Some(Error::WorkBufferTooSmall {
                needed: 544,
                got: 543
            })
        );
    }

    #[test]
    fn a_resume_point_outside_its_segment_is_refused() {
        let (wire, _) = chain(&plain(), MIN_SEGMENT_LOG2).unwrap();
        let layout = Segments::from_wire(MIN_SEGMENT_LOG2, wire.len() as u64).unwrap();
        assert_eq!(layout.count, 3);
        let at = |segment| SegmentResume {
            segment,
            sha256: [0; 32],
        };
        // Plain offset 600 is in segment 1, not 0 or 2; segment 4 does not exist, and the
        // end of the stream (segment 3) needs the whole plain length.
        for (resume, plain_offset) in [(at(0), 600), (at(2), 600), (at(4), 1500), (at(3), 1499)] {
            let mut buf = [0u8; 544];
            assert!(
                matches!(
                    Authenticator::resume(layout, resume, plain_offset, &mut buf).err(),
                    Some(Error::CorruptPayload {
                        reason: "checkpoint does not fit this bundle",
                        ..
                    })
                ),
                "{resume:?} at {plain_offset}"
            );
        }
        let mut buf = [0u8; 544];
        assert!(Authenticator::resume(layout, at(1), 600, &mut buf).is_ok());
        assert!(Authenticator::resume(layout, at(3), 1500, &mut buf).is_ok());
    }

    #[test]
    fn resumes_inside_and_at_the_end_of_a_segment() {
        let (wire, head) = chain(&plain(), MIN_SEGMENT_LOG2).unwrap();
        let layout = Segments::from_wire(MIN_SEGMENT_LOG2, wire.len() as u64).unwrap();
        for stop in [1usize, 200, 511, 512, 513, 1024, 1499] {
            let mut buf = [0u8; 544];
            let mut auth = Authenticator::new(layout, head, &mut buf).unwrap();
            // Release exactly `stop` plain bytes, then take the resume point.
            let mut released = 0;
            let mut rest = &wire[..];
            while released < stop {
                let n = auth.push(rest).unwrap();
                rest = &rest[n..];
                let take = auth.pending().len().min(stop - released);
                released += take;
                auth.release(take);
            }
            let point = auth.resume_point(stop as u64);
            let mut buf2 = [0u8; 544];
            let mut resumed = Authenticator::resume(layout, point, stop as u64, &mut buf2).unwrap();
            let tail = run(&mut resumed, &wire, 64).unwrap();
            assert_eq!(tail, &plain()[stop..], "stop {stop}");
        }
    }
}
