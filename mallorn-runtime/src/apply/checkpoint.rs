//! A resume point: where the payload and the result stood after a completed chunk, with both
//! running hashes. The storage layer persists it; `PayloadDecoder::resume` continues from it.

use crate::hash::SHA256_STATE_LEN;

/// Progress after a completed chunk.
#[derive(Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Chunks completed.
    pub chunks_done: u32,
    /// Payload bytes consumed (the next chunk's framing starts here).
    pub payload_offset: u64,
    /// Result bytes written (a multiple of the chunk alignment).
    pub output_offset: u64,
    /// Running SHA-256 of the payload consumed.
    pub payload_hash: [u8; SHA256_STATE_LEN],
    /// Running SHA-256 of the result written.
    pub output_hash: [u8; SHA256_STATE_LEN],
}

impl Checkpoint {
    /// Encoded length.
    pub const LEN: usize = 4 + 8 + 8 + 2 * SHA256_STATE_LEN;

    /// Encodes the checkpoint (little-endian fields in declaration order).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0; Self::LEN];
        out[0..4].copy_from_slice(&self.chunks_done.to_le_bytes());
        out[4..12].copy_from_slice(&self.payload_offset.to_le_bytes());
        out[12..20].copy_from_slice(&self.output_offset.to_le_bytes());
        out[20..20 + SHA256_STATE_LEN].copy_from_slice(&self.payload_hash);
        out[20 + SHA256_STATE_LEN..].copy_from_slice(&self.output_hash);
        out
    }

    /// Decodes a checkpoint. Field values are checked when the decoder resumes from it.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Self {
        let mut payload_hash = [0; SHA256_STATE_LEN];
        payload_hash.copy_from_slice(&bytes[20..20 + SHA256_STATE_LEN]);
        let mut output_hash = [0; SHA256_STATE_LEN];
        output_hash.copy_from_slice(&bytes[20 + SHA256_STATE_LEN..]);
        let u64_at = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(b)
        };
        Self {
            chunks_done: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            payload_offset: u64_at(4),
            output_offset: u64_at(12),
            payload_hash,
            output_hash,
        }
    }
}

impl core::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("chunks_done", &self.chunks_done)
            .field("payload_offset", &self.payload_offset)
            .field("output_offset", &self.output_offset)
            .finish_non_exhaustive()
    }
}
