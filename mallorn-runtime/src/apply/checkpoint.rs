//! A resume point: where the chunk stream and the result stood after a completed chunk, and
//! the hash of the payload segment to fetch again. The storage layer persists it; the
//! applier continues from it without trusting anything it did not authenticate.

/// The chunk decoder's progress after a completed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Progress {
    /// Chunks completed.
    pub chunks_done: u32,
    /// Plain chunk-stream bytes consumed (the next chunk's framing starts here).
    pub payload_offset: u64,
    /// Result bytes written (a multiple of the chunk alignment, or the result length).
    pub output_offset: u64,
}

impl Progress {
    /// Nothing decoded yet.
    pub const START: Self = Self {
        chunks_done: 0,
        payload_offset: 0,
        output_offset: 0,
    };
}

/// Progress after a completed chunk, with what resuming needs to authenticate the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Checkpoint {
    /// The decoder's progress.
    pub progress: Progress,
    /// Wire payload offset to fetch again from on resume: the start of the segment holding
    /// `progress.payload_offset` (the payload length when it is complete).
    pub wire_offset: u64,
    /// SHA-256 of the wire segment holding `progress.payload_offset` (the segment to fetch
    /// again; zero when the payload is complete).
    pub segment_sha256: [u8; 32],
}

impl Checkpoint {
    /// Encoded length.
    pub const LEN: usize = 4 + 8 + 8 + 8 + 32;

    /// Encodes the checkpoint (little-endian fields in declaration order).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0; Self::LEN];
        out[0..4].copy_from_slice(&self.progress.chunks_done.to_le_bytes());
        out[4..12].copy_from_slice(&self.progress.payload_offset.to_le_bytes());
        out[12..20].copy_from_slice(&self.progress.output_offset.to_le_bytes());
        out[20..28].copy_from_slice(&self.wire_offset.to_le_bytes());
        out[28..].copy_from_slice(&self.segment_sha256);
        out
    }

    /// Decodes a checkpoint. Field values are checked when the applier resumes from it.
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Self {
        let u64_at = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let mut segment_sha256 = [0; 32];
        segment_sha256.copy_from_slice(&bytes[28..]);
        Self {
            progress: Progress {
                chunks_done: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
                payload_offset: u64_at(4),
                output_offset: u64_at(12),
            },
            wire_offset: u64_at(20),
            segment_sha256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let checkpoint = Checkpoint {
            progress: Progress {
                chunks_done: 7,
                payload_offset: 0x0102_0304_0506,
                output_offset: 1 << 40,
            },
            wire_offset: 3 << 33,
            segment_sha256: core::array::from_fn(|i| i as u8),
        };
        assert_eq!(Checkpoint::from_bytes(&checkpoint.to_bytes()), checkpoint);
    }
}
