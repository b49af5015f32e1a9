//! The runtime's error type: one enum whose variants name the check that failed, with the
//! figures that failed it. `Display` is hand-written so it works without `std`.

use core::fmt;

use embedded_storage::nor_flash::NorFlashErrorKind;

use crate::storage::LayoutError;

/// Everything that can stop a bundle from being applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The bundle does not start with the `MLRN` magic.
    BadMagic,
    /// The bundle uses a wire format version this runtime does not read.
    UnsupportedFormatVersion {
        /// Version in the header.
        got: u16,
    },
    /// The header length field is not this format version's length.
    BadHeaderLength {
        /// Length in the header.
        got: u16,
    },
    /// The header sets flag bits this runtime does not know.
    UnknownFlags {
        /// The flags word.
        flags: u32,
    },
    /// The lossless flag and the error bound disagree: a lossless bundle must have bound 0, a
    /// lossy one a positive, finite `f32` bound.
    BadErrorBound {
        /// The bound's `f32` bits.
        bits: u32,
    },
    /// The header asks for decoders this runtime does not know.
    UnknownDecoders {
        /// The decoder bit set.
        decoders: u16,
    },
    /// The chunk alignment is outside 64 B ..= 1 GiB.
    BadChunkAlignment {
        /// log2 of the alignment.
        log2: u8,
    },
    /// A full-image bundle names a base.
    FullImageWithBase,
    /// The header names a model-size profile of the smallest decoder that this runtime does
    /// not know.
    UnknownCoderProfile,
    /// An unsigned bundle names a key.
    UnsignedWithKeyId,
    /// The caller's work buffer is smaller than the bundle needs.
    WorkBufferTooSmall {
        /// Bytes the bundle needs.
        needed: usize,
        /// Bytes supplied.
        got: usize,
    },
    /// The header states less work RAM than this runtime needs to decode the payload.
    RamRequirementUnderstated {
        /// Bytes stated in the header.
        stated: u32,
        /// Bytes the decoders need.
        needed: usize,
    },
    /// The bundle needs decoders this runtime was built without (its cargo features `fast`
    /// and `smallest` choose which are linked).
    DecoderNotBuilt {
        /// The decoder bits the bundle needs that this build lacks.
        decoders: u16,
    },
    /// A chunk uses a decoder that the header does not list.
    UndeclaredDecoder {
        /// The chunk's codec id.
        codec: u8,
    },
    /// The payload is malformed at the given payload offset.
    CorruptPayload {
        /// Byte offset in the payload where the problem was found.
        offset: u64,
        /// What was wrong.
        reason: &'static str,
    },
    /// More payload bytes were supplied than the header declares.
    PayloadTooLong,
    /// The payload ended before the result was complete.
    PayloadTruncated,
    /// A payload segment does not hash to the value the header (for the first segment) or the
    /// previous segment (for the others) binds it to: the bytes were altered or are not this
    /// bundle's. Nothing of the segment reached the decoder; feed it again from
    /// `wire_offset`.
    PayloadSegmentMismatch {
        /// Index of the segment.
        segment: u64,
        /// Payload offset where the segment starts.
        wire_offset: u64,
    },
    /// The result read back from the slot does not hash to the value in the header.
    ResultHashMismatch,
    /// The segment length in the header is outside 2^9 ..= 2^16 bytes.
    BadSegmentSize {
        /// log2 of the segment length.
        log2: u8,
    },
    /// No payload of segments has the header's payload length (it ends inside a link).
    BadPayloadLength {
        /// Payload length in the header.
        wire_len: u64,
    },
    /// Reserved header bytes are not zero.
    ReservedNotZero,
    /// A programmed range did not read back as written (a cell that failed to program).
    ProgramVerifyFailed {
        /// Flash offset of the first differing byte's read step.
        offset: u64,
    },
    /// The session ended with an earlier error; call `begin` again to resume or restart.
    SessionEnded,
    /// The bundle's security counter is above the largest counter a device commits
    /// ([`crate::verify::MAX_SECURITY_COUNTER`]).
    CounterOutOfRange {
        /// Security counter in the bundle.
        bundle: u64,
    },
    /// An update with a higher security counter is in progress or pending: an older bundle
    /// may not replace it.
    CounterBelowPending {
        /// Security counter in the bundle.
        bundle: u64,
        /// Security counter of the update in progress or pending.
        pending: u64,
    },
    /// Journal slots failed to read and none of the others holds a valid record: the state is
    /// unknown. Provisioning erases the state region.
    JournalUnreadable {
        /// Slots that failed to read.
        unreadable: u32,
    },
    /// The payload read outside the base image.
    BaseOutOfRange {
        /// First byte read.
        offset: u64,
        /// Bytes read.
        len: u64,
    },
    /// The flash driver failed.
    Flash(#[cfg_attr(feature = "defmt", defmt(Debug2Format))] NorFlashErrorKind),
    // Storage and update lifecycle (slots, journal, staging).
    /// The flash layout does not fit the flash device.
    Layout(LayoutError),
    /// The state journal holds no valid record: the device was never provisioned.
    JournalBlank,
    /// A journal record did not read back as written.
    JournalWriteFailed,
    /// The journal's 32-bit sequence number is used up.
    JournalExhausted,
    /// A model does not fit its slot.
    SlotTooSmall {
        /// Bytes needed.
        needed: u64,
        /// Bytes in the slot.
        slot_len: u64,
    },
    /// The bundle's chunk alignment is not a multiple of the flash erase size, so an
    /// interrupted update could not resume on an erase-block boundary.
    ChunkAlignBelowEraseSize {
        /// The bundle's chunk alignment.
        chunk_align: u64,
        /// The device's erase size.
        erase_size: usize,
    },
    /// The bundle's base is not the confirmed model in the active slot (length or SHA-256).
    BaseNotActiveImage,
    /// A new model is on trial: confirm it (or reset to revert it) before the next update. Also
    /// after a trial was cancelled, until the next reset: the firmware may still run the
    /// model it loaded from the slot the update would write.
    UpdateDuringTrial,
    /// `confirm` was called without a trial booted in this power cycle.
    NotInTrial,
    /// The applier wrote the result out of order (an internal contract was broken).
    ResultWriteOutOfOrder {
        /// Offset of the write.
        offset: u64,
        /// Offset expected.
        expected: u64,
    },
    /// The staging region is shorter than the bundle its header describes.
    StagingTooSmall {
        /// Bundle length from its header.
        bundle_len: u64,
        /// Staging region length.
        region_len: u64,
    },
    /// The layout has no staging region.
    NoStagingRegion,
    /// The bundle is unsigned (only a firmware admitting with `UnsignedDevelopmentAdmit`
    /// takes those).
    UnsignedRejected,
    /// The bundle was signed by a key that is not in the device's trusted key set.
    UnknownKey {
        /// Key id in the header.
        key_id: [u8; 8],
    },
    /// A trusted key is not a valid Ed25519 public key (or is a weak, small-order point).
    InvalidTrustedKey {
        /// Id of the trusted key.
        key_id: [u8; 8],
    },
    /// The signature does not verify against the trusted key the header names: the header
    /// (or the signature) was altered, or it was signed by another key with a colliding id.
    BadSignature,
    /// The bundle was built for another device SKU.
    WrongSku {
        /// SKU id in the bundle.
        bundle: [u8; 8],
        /// The device's SKU id.
        device: [u8; 8],
    },
    /// The bundle updates another model than the one in this slot.
    WrongModel {
        /// Model id in the bundle.
        bundle: [u8; 8],
        /// The slot's model id.
        device: [u8; 8],
    },
    /// The bundle's security counter is not above the device's committed counter: applying it
    /// would be a rollback (or a replay).
    CounterNotIncreasing {
        /// Security counter in the bundle.
        bundle: u64,
        /// Counter committed on the device.
        device: u64,
    },
    /// The active slot does not hold the base the bundle was built from (length or SHA-256).
    WrongBase,
    /// `begin_admitted` was given an admission made by an updater with its journal elsewhere,
    /// or before the device confirmed another model or committed another counter.
    StaleAdmission,
}

/// Formats an id as lowercase hex without allocating.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl From<NorFlashErrorKind> for Error {
    fn from(kind: NorFlashErrorKind) -> Self {
        Self::Flash(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BadMagic => f.write_str("not a Mallorn bundle (bad magic)"),
            Self::UnsupportedFormatVersion { got } => {
                write!(
                    f,
                    "bundle format version {got} is not supported (this runtime reads version {})",
                    crate::format::header::FORMAT_VERSION
                )
            }
            Self::BadHeaderLength { got } => {
                write!(
                    f,
                    "bundle header length is {got}, expected {}",
                    crate::format::HEADER_LEN
                )
            }
            Self::UnknownFlags { flags } => {
                write!(f, "bundle header has unknown flags {flags:#010x}")
            }
            Self::BadErrorBound { bits } => write!(
                f,
                "bundle header's error bound {bits:#010x} does not match its lossless flag"
            ),
            Self::UnknownDecoders { decoders } => {
                write!(f, "bundle needs unknown decoders (bit set {decoders:#06x})")
            }
            Self::BadChunkAlignment { log2 } => {
                write!(f, "chunk alignment 2^{log2} is outside 2^6..=2^30")
            }
            Self::FullImageWithBase => f.write_str("full-image bundle names a base"),
            Self::UnknownCoderProfile => f.write_str("bundle names an unknown coder profile"),
            Self::UnsignedWithKeyId => f.write_str("unsigned bundle names a signing key"),
            Self::WorkBufferTooSmall { needed, got } => {
                write!(
                    f,
                    "work buffer of {got} bytes is smaller than the {needed} bytes the bundle needs"
                )
            }
            Self::RamRequirementUnderstated { stated, needed } => write!(
                f,
                "bundle states {stated} bytes of work RAM but its decoders need {needed}"
            ),
            Self::DecoderNotBuilt { decoders } => write!(
                f,
                "bundle needs decoders this runtime was built without (bit set {decoders:#06x}: \
                 enable mallorn-runtime's cargo features for them)"
            ),
            Self::UndeclaredDecoder { codec } => {
                write!(
                    f,
                    "payload uses decoder {codec}, which the header does not declare"
                )
            }
            Self::CorruptPayload { offset, reason } => {
                write!(f, "corrupt payload at byte {offset}: {reason}")
            }
            Self::PayloadTooLong => f.write_str("more payload bytes than the header declares"),
            Self::PayloadTruncated => f.write_str("payload ended before the result was complete"),
            Self::PayloadSegmentMismatch {
                segment,
                wire_offset,
            } => write!(
                f,
                "payload segment {segment} (payload byte {wire_offset}) does not match its \
                 signed hash: fetch it again from that offset"
            ),
            Self::ResultHashMismatch => {
                f.write_str("result SHA-256 read back from the slot does not match the header")
            }
            Self::BadSegmentSize { log2 } => {
                write!(f, "payload segment length 2^{log2} is outside 2^9..=2^16")
            }
            Self::BadPayloadLength { wire_len } => write!(
                f,
                "payload length {wire_len} does not divide into whole segments and links"
            ),
            Self::ReservedNotZero => f.write_str("reserved bundle header bytes are not zero"),
            Self::ProgramVerifyFailed { offset } => write!(
                f,
                "flash at {offset:#x} did not read back as programmed (failed cell)"
            ),
            Self::SessionEnded => f.write_str(
                "the update session ended with an earlier error: call begin again to resume",
            ),
            Self::CounterOutOfRange { bundle } => write!(
                f,
                "bundle security counter {bundle} is above the largest counter a device commits"
            ),
            Self::CounterBelowPending { bundle, pending } => write!(
                f,
                "bundle security counter {bundle} is below that of the update in progress or \
                 pending ({pending}): an older bundle may not replace it"
            ),
            Self::JournalUnreadable { unreadable } => write!(
                f,
                "{unreadable} state journal slots failed to read and no other holds a valid \
                 record: provision the device to erase the state region"
            ),
            Self::BaseOutOfRange { offset, len } => {
                write!(f, "payload reads {len} bytes at {offset}, outside the base")
            }
            Self::Flash(kind) => write!(f, "flash error: {kind:?}"),
            Self::Layout(e) => write!(f, "flash layout: {e}"),
            Self::JournalBlank => {
                f.write_str("the state journal holds no valid record: provision the device first")
            }
            Self::JournalWriteFailed => {
                f.write_str("a state journal record did not read back as written")
            }
            Self::JournalExhausted => {
                f.write_str("the state journal's sequence numbers are used up")
            }
            Self::SlotTooSmall { needed, slot_len } => {
                write!(f, "{needed} bytes do not fit a slot of {slot_len} bytes")
            }
            Self::ChunkAlignBelowEraseSize {
                chunk_align,
                erase_size,
            } => write!(
                f,
                "bundle chunk alignment {chunk_align} is not a multiple of the flash erase size \
                 {erase_size}: rebuild the bundle with the device's erase size"
            ),
            Self::BaseNotActiveImage => {
                f.write_str("the bundle's base is not the model in the active slot")
            }
            Self::UpdateDuringTrial => f.write_str(
                "a new model is on trial or was loaded in this power cycle: confirm it or reset before starting another update",
            ),
            Self::NotInTrial => f.write_str("no model on trial in this power cycle to confirm"),
            Self::ResultWriteOutOfOrder { offset, expected } => write!(
                f,
                "result written at {offset}, expected {expected} (applier contract broken)"
            ),
            Self::StagingTooSmall {
                bundle_len,
                region_len,
            } => write!(
                f,
                "staged bundle of {bundle_len} bytes does not fit the {region_len}-byte staging region"
            ),
            Self::NoStagingRegion => f.write_str("the flash layout has no staging region"),
            Self::UnsignedRejected => f.write_str(
                "bundle is unsigned, and only signed bundles are accepted \
                 (only a development firmware admitting with `UnsignedDevelopmentAdmit` takes them)",
            ),
            Self::UnknownKey { key_id } => write!(
                f,
                "bundle is signed by key {}, which is not a trusted key",
                Hex(&key_id)
            ),
            Self::InvalidTrustedKey { key_id } => write!(
                f,
                "trusted key {} is not a valid Ed25519 public key",
                Hex(&key_id)
            ),
            Self::BadSignature => {
                f.write_str("bundle signature does not verify: the header or signature was altered")
            }
            Self::WrongSku { bundle, device } => write!(
                f,
                "bundle is for SKU id {}, not {}",
                Hex(&bundle),
                Hex(&device)
            ),
            Self::WrongModel { bundle, device } => write!(
                f,
                "bundle is for model id {}, not {}",
                Hex(&bundle),
                Hex(&device)
            ),
            Self::CounterNotIncreasing { bundle, device } => write!(
                f,
                "bundle security counter {bundle} is not above the committed counter {device} \
                 (rollback or replay)"
            ),
            Self::WrongBase => f.write_str(
                "the base is not the one this bundle was built from (length or SHA-256 differs)",
            ),
            Self::StaleAdmission => f.write_str(
                "the admission was made by another updater, or before the device's confirmed \
                 model or counter changed: admit the bundle again",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
