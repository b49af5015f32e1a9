//! Chunk framing of the payload. The payload is a sequence of chunks, each
//!
//! ```text
//! varint output_len | varint coded_len | u8 codec | coded_len bytes
//! ```
//!
//! A chunk's decoder starts from a fresh state, so an interrupted update resumes at the last
//! completed chunk. Every chunk but the last produces a multiple of the header's chunk
//! alignment, so a resumed update starts on an erase-block boundary.

use crate::format::varint::{self, VarintError};

/// Identifies the decoder of one chunk. The header's decoder set has bit `1 << id` for each
/// codec the payload uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CodecId {
    /// The coded bytes are the output bytes.
    Stored = 0,
    /// Byte-aligned copy/literal/residual operations.
    Fast = 1,
    /// Context-modelled binary range coding.
    Smallest = 2,
}

impl CodecId {
    /// Every codec, in id order.
    pub const ALL: [CodecId; 3] = [Self::Stored, Self::Fast, Self::Smallest];

    /// Decodes a codec id byte.
    pub const fn from_u8(id: u8) -> Option<Self> {
        match id {
            0 => Some(Self::Stored),
            1 => Some(Self::Fast),
            2 => Some(Self::Smallest),
            _ => None,
        }
    }

    /// This codec's bit in [`crate::format::Decoders`].
    pub const fn decoder_bit(self) -> u16 {
        1 << self as u8
    }

    /// The name tools print for this codec's decoder, and that `Mallorn.toml` lists in
    /// `decoders`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Fast => "fast",
            Self::Smallest => "smallest",
        }
    }
}

/// Longest encoding of a chunk header.
pub const MAX_CHUNK_HEADER_LEN: usize = 2 * varint::MAX_LEN + 1;

/// One chunk's framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Bytes of result this chunk produces (never zero).
    pub output_len: u64,
    /// Bytes of coded data that follow the framing.
    pub coded_len: u64,
    /// The codec byte (checked against known codecs by the applier).
    pub codec: u8,
}

impl ChunkHeader {
    /// Encodes the framing into `out`, returning the length used.
    pub fn encode(&self, out: &mut [u8; MAX_CHUNK_HEADER_LEN]) -> usize {
        let mut buf = [0; varint::MAX_LEN];
        let a = varint::encode(self.output_len, &mut buf);
        out[..a].copy_from_slice(&buf[..a]);
        let b = varint::encode(self.coded_len, &mut buf);
        out[a..a + b].copy_from_slice(&buf[..b]);
        out[a + b] = self.codec;
        a + b + 1
    }
}

/// Why chunk framing could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkHeaderError {
    /// A length is not a valid varint.
    BadVarint,
    /// The chunk produces no output.
    EmptyChunk,
}

/// Assembles a chunk header from fragments of any size.
#[derive(Debug, Clone, Default)]
pub struct ChunkHeaderReader {
    buf: [u8; MAX_CHUNK_HEADER_LEN],
    len: usize,
}

impl ChunkHeaderReader {
    /// Takes bytes from `input` until the header is complete. Returns how many bytes were
    /// taken and the header once it is complete.
    pub fn push(&mut self, input: &[u8]) -> Result<(usize, Option<ChunkHeader>), ChunkHeaderError> {
        let mut taken = 0;
        while taken < input.len() {
            // Bounded: `parse` completes or fails by MAX_CHUNK_HEADER_LEN bytes.
            self.buf[self.len] = input[taken];
            self.len += 1;
            taken += 1;
            match parse(&self.buf[..self.len]) {
                Ok(header) => {
                    self.len = 0;
                    return Ok((taken, Some(header)));
                }
                Err(Parse::NeedMore) => {}
                Err(Parse::Bad(e)) => return Err(e),
            }
        }
        Ok((taken, None))
    }

    /// Whether part of a header has been taken.
    pub fn is_partial(&self) -> bool {
        self.len != 0
    }
}

enum Parse {
    NeedMore,
    Bad(ChunkHeaderError),
}

fn parse(bytes: &[u8]) -> Result<ChunkHeader, Parse> {
    let field = |input: &[u8]| match varint::decode(input) {
        Ok(v) => Ok(v),
        Err(VarintError::Truncated) => Err(Parse::NeedMore),
        Err(VarintError::Invalid) => Err(Parse::Bad(ChunkHeaderError::BadVarint)),
    };
    let (output_len, a) = field(bytes)?;
    if output_len == 0 {
        return Err(Parse::Bad(ChunkHeaderError::EmptyChunk));
    }
    let (coded_len, b) = field(&bytes[a..])?;
    let codec = *bytes.get(a + b).ok_or(Parse::NeedMore)?;
    Ok(ChunkHeader {
        output_len,
        coded_len,
        codec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codec_ids_are_the_wire_bytes_in_order() {
        for (byte, codec) in CodecId::ALL.into_iter().enumerate() {
            assert_eq!(codec as usize, byte);
            assert_eq!(CodecId::from_u8(byte as u8), Some(codec));
        }
        assert_eq!(CodecId::from_u8(CodecId::ALL.len() as u8), None);
    }

    proptest! {
        #[test]
        fn round_trips_in_any_fragmentation(output_len in 1u64.., coded_len: u64, codec: u8, split in 0usize..22) {
            let header = ChunkHeader { output_len, coded_len, codec };
            let mut buf = [0; MAX_CHUNK_HEADER_LEN];
            let len = header.encode(&mut buf);
            let split = split.min(len);
            let mut reader = ChunkHeaderReader::default();
            let (a, first) = reader.push(&buf[..split]).unwrap();
            prop_assert_eq!(a, split);
            let got = match first {
                Some(h) => { prop_assert_eq!(split, len); h }
                None => {
                    let (b, second) = reader.push(&buf[split..len]).unwrap();
                    prop_assert_eq!(split + b, len);
                    second.unwrap()
                }
            };
            prop_assert_eq!(got, header);
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut reader = ChunkHeaderReader::default();
            let mut rest = &input[..];
            while !rest.is_empty() {
                match reader.push(rest) {
                    Ok((n, _)) => rest = &rest[n..],
                    Err(_) => break,
                }
            }
        }
    }
}
