//! Checkpoints found by reading only the chunk framing: where each chunk of a payload ends,
//! as the decoder would report it, without decoding anything.
//!
//! A host that holds a whole wire payload can start a [`crate::apply::PayloadStream`] at any
//! of these with [`crate::apply::PayloadStream::resume`], and so decode a payload's chunks on
//! several cores (the build's self-check does). The walk trusts the bytes it is given: the
//! streams resumed from its checkpoints authenticate every segment they read, from the link
//! that precedes it, which the stream before them authenticates.

use crate::apply::checkpoint::{Checkpoint, Progress};
use crate::cast::usize_min;
use crate::error::Error;
use crate::format::BundleHeader;
use crate::format::chunk::ChunkHeaderReader;
use crate::format::segments::{LINK_LEN, Segments};

/// The checkpoints after each chunk of a wire payload, front to back.
pub struct ChunkStarts<'a> {
    layout: Segments,
    wire: &'a [u8],
    first_segment_sha256: [u8; 32],
    result_len: u64,
    next: Progress,
}

impl<'a> ChunkStarts<'a> {
    /// Walks `wire`, the whole wire payload of the bundle `header` describes.
    pub fn new(header: &BundleHeader, wire: &'a [u8]) -> Result<Self, Error> {
        let layout = header.segments()?;
        if (wire.len() as u64) < layout.wire_len {
            return Err(Error::PayloadTruncated);
        }
        if (wire.len() as u64) > layout.wire_len {
            return Err(Error::PayloadTooLong);
        }
        Ok(Self {
            layout,
            wire,
            first_segment_sha256: header.payload_sha256,
            result_len: header.result_len,
            next: Progress {
                chunks_done: 0,
                payload_offset: 0,
                output_offset: 0,
            },
        })
    }

    /// The plain chunk-stream byte at `plain`.
    fn plain_byte(&self, plain: u64) -> Option<u8> {
        if plain >= self.layout.plain_len {
            return None;
        }
        let segment = self.layout.segment_of(plain);
        let wire = self.layout.wire_start(segment) + (plain - self.layout.plain_start(segment));
        self.wire.get(usize::try_from(wire).ok()?).copied()
    }

    /// The checkpoint a stream reports once the decoder reached `progress`.
    fn checkpoint(&self, progress: Progress) -> Checkpoint {
        if progress.payload_offset >= self.layout.plain_len {
            return Checkpoint {
                progress,
                wire_offset: self.layout.wire_len,
                segment_sha256: [0; 32],
            };
        }
        let segment = self.layout.segment_of(progress.payload_offset);
        let wire_offset = self.layout.wire_start(segment);
        let mut segment_sha256 = self.first_segment_sha256;
        if segment > 0 {
            // The link at the end of the previous wire segment (`wire` holds the whole
            // payload, so `wire_offset` is within it).
            let link = usize_min(wire_offset, self.wire.len()) - LINK_LEN;
            segment_sha256.copy_from_slice(&self.wire[link..link + LINK_LEN]);
        }
        Checkpoint {
            progress,
            wire_offset,
            segment_sha256,
        }
    }

    fn corrupt(&self, reason: &'static str) -> Error {
        Error::CorruptPayload {
            offset: self.next.payload_offset,
            reason,
        }
    }

    /// The checkpoint after the next chunk, or `None` once the result is complete.
    pub fn next_chunk(&mut self) -> Result<Option<Checkpoint>, Error> {
        if self.next.output_offset >= self.result_len {
            return Ok(None);
        }
        let mut reader = ChunkHeaderReader::default();
        let mut at = self.next.payload_offset;
        let framing = loop {
            let byte = self
                .plain_byte(at)
                .ok_or_else(|| self.corrupt("chunk framing past the payload"))?;
            at += 1;
            match reader.push(&[byte]) {
                Ok((_, Some(framing))) => break framing,
                Ok((_, None)) => {}
                Err(_) => return Err(self.corrupt("bad chunk framing")),
            }
        };
        let payload_offset = at
            .checked_add(framing.coded_len)
            .filter(|&end| end <= self.layout.plain_len)
            .ok_or_else(|| self.corrupt("chunk longer than the payload"))?;
        let output_offset = self
            .next
            .output_offset
            .checked_add(framing.output_len)
            .filter(|&end| end <= self.result_len)
            .ok_or_else(|| self.corrupt("chunk output beyond the result"))?;
        let chunks_done = self
            .next
            .chunks_done
            .checked_add(1)
            .ok_or_else(|| self.corrupt("too many chunks"))?;
        self.next = Progress {
            chunks_done,
            payload_offset,
            output_offset,
        };
        Ok(Some(self.checkpoint(self.next)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::PayloadStream;
    use crate::apply::testing::{chunk, forged};
    use crate::image::SliceResult;
    use alloc::vec;
    use alloc::vec::Vec;

    /// Every checkpoint the walk finds is the one a decoding stream reports, in order; the
    /// stored chunks span segments, so some checkpoints fall in later segments.
    #[test]
    fn the_walk_finds_the_checkpoints_the_decoder_reports() {
        let base = [3u8; 10];
        let plain = [
            chunk(320, 0, &[7; 320]),
            chunk(320, 0, &[8; 320]),
            chunk(10, 0, &[9; 10]),
        ]
        .concat();
        let (header, wire) = forged(&plain, &base, 650);
        let mut work = vec![0u8; header.ram_required as usize];
        let mut stream = PayloadStream::new(&header, &mut work).unwrap();
        let mut out = [0u8; 650];
        let mut result = SliceResult::new(&mut out);
        let mut base_image: &[u8] = &base;
        let mut reported = Vec::new();
        let mut rest = &wire[..];
        loop {
            let fed = stream.feed(rest, &mut base_image, &mut result).unwrap();
            rest = &rest[fed.consumed..];
            match fed.checkpoint {
                Some(c) => reported.push(c),
                None => break,
            }
        }
        let mut walk = ChunkStarts::new(&header, &wire).unwrap();
        let mut found = Vec::new();
        while let Some(c) = walk.next_chunk().unwrap() {
            found.push(c);
        }
        assert_eq!(found, reported);
        assert_eq!(found.len(), 3);
        assert!(
            found[1].wire_offset > 0,
            "a checkpoint in the second segment"
        );
    }

    #[test]
    fn a_payload_of_the_wrong_length_or_framing_is_refused() {
        let plain = chunk(64, 0, &[7; 64]);
        let (header, wire) = forged(&plain, &[], 64);
        assert_eq!(
            ChunkStarts::new(&header, &wire[..wire.len() - 1]).err(),
            Some(Error::PayloadTruncated)
        );
        let mut long = wire.clone();
        long.push(0);
        assert_eq!(
            ChunkStarts::new(&header, &long).err(),
            Some(Error::PayloadTooLong)
        );
        // A chunk that claims more output than the result, or more bytes than the payload.
        let (header, wire) = forged(&plain, &[], 63);
        let mut walk = ChunkStarts::new(&header, &wire).unwrap();
        assert!(matches!(
            walk.next_chunk(),
            Err(Error::CorruptPayload { .. })
        ));
        let (header, wire) = forged(&plain[..plain.len() - 1], &[], 64);
        let mut walk = ChunkStarts::new(&header, &wire).unwrap();
        assert!(matches!(
            walk.next_chunk(),
            Err(Error::CorruptPayload { .. })
        ));
    }
}
