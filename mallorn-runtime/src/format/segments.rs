//! The payload's authentication: a hash chain over fixed-size segments, so a device checks
//! every payload byte against the signed header before the decoder sees it.
//!
//! The chunk stream (the *plain* payload, see [`crate::format::chunk`]) is cut into segments
//! of `1 << segment_log2` bytes (the last one shorter). On the wire every segment but the last
//! is followed by the SHA-256 of the next wire segment; the header carries the SHA-256 of the
//! first:
//!
//! ```text
//! wire segment i   = plain[i*S .. (i+1)*S] | SHA-256(wire segment i+1)    (i < n-1)
//! wire segment n-1 = plain[(n-1)*S ..]
//! header.payload_sha256 = SHA-256(wire segment 0)
//! ```
//!
//! A device buffers one wire segment (`S + 32` bytes of its work buffer), hashes it, and only
//! if it matches the hash it expects (from the header, or from the end of the previous
//! segment) hands the plain bytes to the decoder. A payload whose plain stream is empty is one
//! empty segment.

use crate::error::Error;

/// Bytes of the hash that links a wire segment to the next.
pub const LINK_LEN: usize = 32;
/// Smallest segment: 512 bytes (6.25 % of hash overhead).
pub const MIN_SEGMENT_LOG2: u8 = 9;
/// Largest segment: 64 KiB, which bounds the RAM an attacker-chosen header can ask for.
pub const MAX_SEGMENT_LOG2: u8 = 16;
/// The segment the build prefers when the RAM budget allows it: 8 KiB (0.39 % overhead).
pub const PREFERRED_SEGMENT_LOG2: u8 = 13;
/// The smallest segment the build accepts before it picks a smaller coder profile instead:
/// 2 KiB (1.56 % overhead).
pub const MIN_PREFERRED_SEGMENT_LOG2: u8 = 11;

/// Work-buffer bytes that hold one wire segment of `1 << segment_log2` plain bytes.
pub const fn segment_buffer_len(segment_log2: u8) -> usize {
    (1usize << segment_log2) + LINK_LEN
}

/// The segment layout of one payload: how its wire bytes divide into segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    /// Plain bytes per segment (all but the last): a power of two, as both constructors
    /// make it ([`Segments::segment_of`] shifts by it).
    pub segment_len: u64,
    /// Number of segments (at least 1).
    pub count: u64,
    /// Length of the plain chunk stream.
    pub plain_len: u64,
    /// Length of the payload on the wire (plain bytes plus one link per segment but the last).
    pub wire_len: u64,
}

impl Segments {
    /// The layout of a wire payload of `wire_len` bytes in segments of `1 << segment_log2`
    /// plain bytes; fails if no payload has that length (the last segment would end in a
    /// partial link).
    pub const fn from_wire(segment_log2: u8, wire_len: u64) -> Result<Self, Error> {
        if segment_log2 < MIN_SEGMENT_LOG2 || segment_log2 > MAX_SEGMENT_LOG2 {
            return Err(Error::BadSegmentSize { log2: segment_log2 });
        }
        let segment_len = 1u64 << segment_log2;
        let stride = segment_len + LINK_LEN as u64;
        // Full segments before the last one; the last holds 1..=segment_len plain bytes
        // (or 0 when the whole payload is empty).
        let full = if wire_len == 0 {
            0
        } else {
            crate::divide::div_rem(wire_len - 1, stride).0
        };
        let last = wire_len - full * stride;
        if last > segment_len {
            return Err(Error::BadPayloadLength { wire_len });
        }
        Ok(Self {
            segment_len,
            count: full + 1,
            plain_len: full * segment_len + last,
            wire_len,
        })
    }

    /// The layout of a plain chunk stream of `plain_len` bytes.
    pub const fn from_plain(segment_log2: u8, plain_len: u64) -> Result<Self, Error> {
        if segment_log2 < MIN_SEGMENT_LOG2 || segment_log2 > MAX_SEGMENT_LOG2 {
            return Err(Error::BadSegmentSize { log2: segment_log2 });
        }
        let segment_len = 1u64 << segment_log2;
        let count = if plain_len == 0 {
            1
        } else {
            // `segment_len` is a power of two: a shift, not a 64-bit division.
            (plain_len >> segment_log2) + ((plain_len & (segment_len - 1)) != 0) as u64
        };
        Ok(Self {
            segment_len,
            count,
            plain_len,
            wire_len: plain_len + (count - 1) * LINK_LEN as u64,
        })
    }

    /// Wire offset where segment `index` starts.
    pub const fn wire_start(&self, index: u64) -> u64 {
        index * (self.segment_len + LINK_LEN as u64)
    }

    /// Plain offset where segment `index` starts.
    pub const fn plain_start(&self, index: u64) -> u64 {
        index * self.segment_len
    }

    /// Plain bytes in segment `index`.
    pub const fn plain_len_of(&self, index: u64) -> u64 {
        if index + 1 < self.count {
            self.segment_len
        } else {
            self.plain_len - self.plain_start(index)
        }
    }

    /// Wire bytes of segment `index`: its plain bytes and, unless it is the last, the link.
    pub const fn wire_len_of(&self, index: u64) -> u64 {
        if index + 1 < self.count {
            self.segment_len + LINK_LEN as u64
        } else {
            self.plain_len_of(index)
        }
    }

    /// The segment holding plain offset `plain` (the last segment for the end of the stream).
    pub const fn segment_of(&self, plain: u64) -> u64 {
        // `segment_len` is a power of two: a shift, not a 64-bit division.
        let index = plain >> self.segment_len.trailing_zeros();
        if index >= self.count {
            self.count - 1
        } else {
            index
        }
    }
}

/// Builds the wire payload of a plain chunk stream: returns the wire bytes and the SHA-256 of
/// the first wire segment (the header's `payload_sha256`).
#[cfg(any(test, feature = "encode"))]
// Host-only: the layout is of `plain`, an in-memory slice, so its offsets fit usize.
#[allow(clippy::cast_possible_truncation)]
pub fn chain(plain: &[u8], segment_log2: u8) -> Result<(alloc::vec::Vec<u8>, [u8; 32]), Error> {
    let layout = Segments::from_plain(segment_log2, plain.len() as u64)?;
    let segment_len = layout.segment_len as usize;
    let mut wire = alloc::vec![0u8; layout.wire_len as usize];
    // Back to front: each segment carries the hash of the one after it.
    let mut next: Option<[u8; 32]> = None;
    for index in (0..layout.count).rev() {
        let from = layout.plain_start(index) as usize;
        let data = &plain[from..from + layout.plain_len_of(index) as usize];
        let at = layout.wire_start(index) as usize;
        wire[at..at + data.len()].copy_from_slice(data);
        let mut end = at + data.len();
        if let Some(link) = next {
            wire[end..end + LINK_LEN].copy_from_slice(&link);
            end += LINK_LEN;
        }
        debug_assert!(index + 1 == layout.count || end - at == segment_len + LINK_LEN);
        next = Some(crate::hash::sha256(&wire[at..end]));
    }
    Ok((wire, next.unwrap_or_else(|| crate::hash::sha256(&[]))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_and_plain_layouts_agree() {
        for log2 in [MIN_SEGMENT_LOG2, 10, MAX_SEGMENT_LOG2] {
            let s = 1u64 << log2;
            for plain in [0, 1, s - 1, s, s + 1, 3 * s, 3 * s + 7] {
                let from_plain = Segments::from_plain(log2, plain).unwrap();
                let from_wire = Segments::from_wire(log2, from_plain.wire_len).unwrap();
                assert_eq!(from_plain, from_wire, "plain {plain}, log2 {log2}");
                let total: u64 = (0..from_plain.count)
                    .map(|i| from_plain.wire_len_of(i))
                    .sum();
                assert_eq!(total, from_plain.wire_len);
            }
        }
    }

    #[test]
    fn lengths_that_end_inside_a_link_are_refused() {
        let s = 1u64 << MIN_SEGMENT_LOG2;
        for wire in [s + 1, s + LINK_LEN as u64] {
            assert_eq!(
                Segments::from_wire(MIN_SEGMENT_LOG2, wire),
                Err(Error::BadPayloadLength { wire_len: wire })
            );
        }
        assert!(Segments::from_wire(MIN_SEGMENT_LOG2, s + LINK_LEN as u64 + 1).is_ok());
    }

    #[test]
    fn segment_sizes_outside_the_bounds_are_refused() {
        for log2 in [0, MIN_SEGMENT_LOG2 - 1, MAX_SEGMENT_LOG2 + 1, 255] {
            assert_eq!(
                Segments::from_wire(log2, 10),
                Err(Error::BadSegmentSize { log2 })
            );
            assert_eq!(
                Segments::from_plain(log2, 10),
                Err(Error::BadSegmentSize { log2 })
            );
        }
    }

    #[test]
    fn the_chain_links_every_segment_to_the_next() {
        use crate::hash::sha256;
        let plain: alloc::vec::Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
        let (wire, head) = chain(&plain, MIN_SEGMENT_LOG2).unwrap();
        let layout = Segments::from_wire(MIN_SEGMENT_LOG2, wire.len() as u64).unwrap();
        assert_eq!(layout.plain_len, 2000);
        let mut expected = head;
        let mut rebuilt = alloc::vec::Vec::new();
        for i in 0..layout.count {
            let at = layout.wire_start(i) as usize;
            let seg = &wire[at..at + layout.wire_len_of(i) as usize];
            assert_eq!(sha256(seg), expected);
            let data_len = layout.plain_len_of(i) as usize;
            rebuilt.extend_from_slice(&seg[..data_len]);
            if i + 1 < layout.count {
                expected.copy_from_slice(&seg[data_len..]);
            }
        }
        assert_eq!(rebuilt, plain);
    }
}
