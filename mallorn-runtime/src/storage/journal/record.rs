//! One journal record: a complete [`DeviceState`] with a sequence number, framed by a magic
//! and format version and closed by a CRC-32, so a torn or half-erased record is recognised
//! and ignored. The byte layout is documented in `docs/journal-format.md`.

use crc::{CRC_32_ISO_HDLC, Crc, NoTable};

use crate::apply::Checkpoint;
use crate::storage::layout::{MAX_WRITE_SIZE, Slot};
use crate::storage::state::{DeviceState, Phase, SlotImage, UpdateTarget};

/// The four bytes that open every record.
pub const RECORD_MAGIC: [u8; 4] = *b"MLRJ";
/// The journal format version this runtime reads and writes.
pub const JOURNAL_FORMAT_VERSION: u16 = 2;
/// Bytes of a record before padding, CRC included.
pub const RECORD_RAW_LEN: usize = CRC_AT + 4;
/// Largest padded record (the raw record rounded up to the largest supported write size).
pub const MAX_RECORD_LEN: usize = RECORD_RAW_LEN.div_ceil(MAX_WRITE_SIZE) * MAX_WRITE_SIZE;

const CHECKPOINT_AT: usize = 144;
const CRC_AT: usize = CHECKPOINT_AT + Checkpoint::LEN;

/// CRC-32 (ISO-HDLC, as in zlib and Ethernet), bitwise: records are small and the table
/// would cost a kilobyte of flash.
const CRC32: Crc<u32, NoTable> = Crc::<u32, NoTable>::new(&CRC_32_ISO_HDLC);

/// What a record slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "no allocator to box into; one record is decoded at a time"
)]
pub(crate) enum Decoded {
    /// Every byte erased: free for a record.
    Blank,
    /// Neither blank nor a valid record: a torn write, a half-erased bank or another format.
    Garbage,
    /// A valid record.
    Valid {
        /// Sequence number: the highest valid one is the current state.
        seq: u32,
        /// The state it records.
        state: DeviceState,
    },
}

/// Writes the record for `state` with sequence `seq` into `out` (one whole record slot);
/// padding bytes are left erased (0xFF).
// A record slot is at most MAX_RECORD_LEN (the raw record rounded up to a 256-byte write).
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn encode(state: &DeviceState, seq: u32, out: &mut [u8]) {
    out.fill(0xFF);
    let rec_len = out.len() as u16;
    let raw = &mut out[..RECORD_RAW_LEN];
    raw.fill(0);
    raw[0..4].copy_from_slice(&RECORD_MAGIC);
    raw[4..6].copy_from_slice(&JOURNAL_FORMAT_VERSION.to_le_bytes());
    raw[6..8].copy_from_slice(&rec_len.to_le_bytes());
    raw[8..12].copy_from_slice(&seq.to_le_bytes());
    raw[12] = state.phase.code();
    raw[13] = state.active.to_u8();
    raw[16..24].copy_from_slice(&state.committed_counter.to_le_bytes());
    put_image(&mut raw[24..64], &state.active_image);
    if let Some(target) = state.phase.target() {
        raw[64..96].copy_from_slice(&target.bundle_hash);
        put_image(&mut raw[96..136], &target.image);
        raw[136..144].copy_from_slice(&target.security_counter.to_le_bytes());
    }
    if let Phase::Trial { boots_left, .. } = state.phase {
        raw[15] = boots_left;
    }
    if let Phase::Updating {
        checkpoint: Some(checkpoint),
        ..
    } = &state.phase
    {
        raw[14] = 1;
        raw[CHECKPOINT_AT..CRC_AT].copy_from_slice(&checkpoint.to_bytes());
    }
    let crc = CRC32.checksum(&raw[..CRC_AT]);
    raw[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
}

/// Reads one record slot (`bytes.len()` is the slot length).
pub(crate) fn decode(bytes: &[u8]) -> Decoded {
    if bytes.iter().all(|&b| b == 0xFF) {
        return Decoded::Blank;
    }
    match decode_valid(bytes) {
        Some((seq, state)) => Decoded::Valid { seq, state },
        None => Decoded::Garbage,
    }
}

fn decode_valid(bytes: &[u8]) -> Option<(u32, DeviceState)> {
    let raw = bytes.get(..RECORD_RAW_LEN)?;
    if raw[0..4] != RECORD_MAGIC
        || u16::from_le_bytes([raw[4], raw[5]]) != JOURNAL_FORMAT_VERSION
        || usize::from(u16::from_le_bytes([raw[6], raw[7]])) != bytes.len()
        || u32::from_le_bytes(array(&raw[CRC_AT..])) != CRC32.checksum(&raw[..CRC_AT])
        || raw[12] != 3 && raw[15] != 0
    {
        return None;
    }
    let seq = u32::from_le_bytes(array(&raw[8..12]));
    let active = Slot::from_u8(raw[13])?;
    let has_checkpoint = match raw[14] {
        0 => false,
        1 => true,
        _ => return None,
    };
    let target = UpdateTarget {
        bundle_hash: array(&raw[64..96]),
        image: get_image(&raw[96..136]),
        security_counter: u64::from_le_bytes(array(&raw[136..144])),
    };
    let phase = match (raw[12], has_checkpoint) {
        (0, false) => Phase::Idle,
        (1, _) => Phase::Updating {
            target,
            checkpoint: has_checkpoint
                .then(|| Checkpoint::from_bytes(&array(&raw[CHECKPOINT_AT..CRC_AT]))),
        },
        (2, false) => Phase::Pending(target),
        (3, false) => Phase::Trial {
            target,
            boots_left: raw[15],
        },
        _ => return None,
    };
    Some((
        seq,
        DeviceState {
            active,
            active_image: get_image(&raw[24..64]),
            committed_counter: u64::from_le_bytes(array(&raw[16..24])),
            phase,
        },
    ))
}

fn put_image(out: &mut [u8], image: &SlotImage) {
    out[..8].copy_from_slice(&image.len.to_le_bytes());
    out[8..40].copy_from_slice(&image.sha256);
}

fn get_image(bytes: &[u8]) -> SlotImage {
    SlotImage {
        len: u64::from_le_bytes(array(&bytes[..8])),
        sha256: array(&bytes[8..40]),
    }
}

/// The first `N` bytes of `bytes` (callers pass slices of at least `N` bytes).
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn updating(chunks: u32) -> DeviceState {
        DeviceState {
            active: Slot::B,
            active_image: SlotImage {
                len: 1234,
                sha256: [7; 32],
            },
            committed_counter: 9,
            phase: Phase::Updating {
                target: UpdateTarget {
                    bundle_hash: [1; 32],
                    image: SlotImage {
                        len: 4321,
                        sha256: [2; 32],
                    },
                    security_counter: 10,
                },
                checkpoint: Some(Checkpoint {
                    progress: crate::apply::Progress {
                        chunks_done: chunks,
                        payload_offset: 77,
                        output_offset: 4096,
                    },
                    wire_offset: 544,
                    segment_sha256: [3; 32],
                }),
            },
        }
    }

    #[test]
    fn layout_constants() {
        assert_eq!(RECORD_RAW_LEN, 208);
        assert_eq!(MAX_RECORD_LEN, 256);
    }

    #[test]
    fn round_trips_every_phase() {
        let full = updating(3);
        let target = *full.phase.target().unwrap();
        let phases = [
            Phase::Idle,
            full.phase,
            Phase::Updating {
                target,
                checkpoint: None,
            },
            Phase::Pending(target),
            Phase::Trial {
                target,
                boots_left: 0,
            },
            Phase::Trial {
                target,
                boots_left: 2,
            },
        ];
        for phase in phases {
            let state = DeviceState { phase, ..full };
            let mut slot = [0u8; 224];
            encode(&state, 42, &mut slot);
            assert!(slot[RECORD_RAW_LEN..].iter().all(|&b| b == 0xFF));
            assert_eq!(decode(&slot), Decoded::Valid { seq: 42, state });
        }
    }

    #[test]
    fn blank_and_wrong_slot_length() {
        assert_eq!(decode(&[0xFF; 208]), Decoded::Blank);
        let mut slot = [0u8; 224];
        encode(&updating(1), 1, &mut slot);
        // A record written for another slot length (another write size) is not accepted.
        assert_eq!(decode(&slot[..208]), Decoded::Garbage);
    }

    proptest! {
        #[test]
        fn any_torn_prefix_or_flipped_bit_is_garbage(cut in 0usize..208, flip in 0usize..208 * 8) {
            let mut slot = [0u8; 208];
            encode(&updating(5), 5, &mut slot);
            let mut torn = [0xFFu8; 208];
            torn[..cut].copy_from_slice(&slot[..cut]);
            let accepted = matches!(decode(&torn), Decoded::Valid { .. });
            prop_assert!(!accepted, "a torn record was accepted");
            let mut flipped = slot;
            flipped[flip / 8] ^= 1 << (flip % 8);
            prop_assert_eq!(decode(&flipped), Decoded::Garbage);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode(&bytes);
        }
    }
}
