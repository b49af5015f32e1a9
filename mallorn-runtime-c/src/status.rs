//! Status codes: one per runtime error variant, plus the C ABI's own argument checks, and
//! their text.

use core::ffi::{CStr, c_char};

use mallorn_runtime::Error;

/// What a `mallorn_*` function returns: `MALLORN_OK` or why it failed. Codes below 100 are
/// the C ABI's own checks; the others are the runtime's errors (`mallorn_runtime::Error`).
/// `mallorn_strerror` gives the text.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mallorn_status_t {
    /// Success.
    MALLORN_OK = 0,
    /// A required pointer (or callback) is NULL.
    MALLORN_ERR_NULL_POINTER = 1,
    /// A length, slot number or other argument is out of range, or a pointer is not aligned
    /// for its type (storage not 8-aligned, say).
    MALLORN_ERR_INVALID_ARGUMENT = 2,
    /// The updater or session storage was not opened (or was closed or finished).
    MALLORN_ERR_NOT_OPEN = 3,
    /// The updater has an open session (finish or abort it first), or is in a call already
    /// (a flash callback called back into it).
    MALLORN_ERR_BUSY = 4,
    /// More trusted keys than `MALLORN_MAX_TRUSTED_KEYS`.
    MALLORN_ERR_TOO_MANY_KEYS = 5,
    /// A runtime error this version of the C ABI does not name.
    MALLORN_ERR_OTHER = 99,
    /// Not a Mallorn bundle (bad magic).
    MALLORN_ERR_BAD_MAGIC = 100,
    /// Unsupported bundle format version.
    MALLORN_ERR_UNSUPPORTED_FORMAT_VERSION = 101,
    /// Bad header length field.
    MALLORN_ERR_BAD_HEADER_LENGTH = 102,
    /// Unknown header flags.
    MALLORN_ERR_UNKNOWN_FLAGS = 103,
    /// The error bound does not match the lossless flag.
    MALLORN_ERR_BAD_ERROR_BOUND = 104,
    /// Unknown decoders requested.
    MALLORN_ERR_UNKNOWN_DECODERS = 105,
    /// Chunk alignment out of range.
    MALLORN_ERR_BAD_CHUNK_ALIGNMENT = 106,
    /// A full-image bundle names a base.
    MALLORN_ERR_FULL_IMAGE_WITH_BASE = 107,
    /// Unknown coder profile.
    MALLORN_ERR_UNKNOWN_CODER_PROFILE = 108,
    /// An unsigned bundle names a key.
    MALLORN_ERR_UNSIGNED_WITH_KEY_ID = 109,
    /// The work buffer is smaller than the bundle needs.
    MALLORN_ERR_WORK_BUFFER_TOO_SMALL = 110,
    /// The header understates the work RAM.
    MALLORN_ERR_RAM_REQUIREMENT_UNDERSTATED = 111,
    /// A chunk uses an undeclared decoder.
    MALLORN_ERR_UNDECLARED_DECODER = 112,
    /// The payload is malformed.
    MALLORN_ERR_CORRUPT_PAYLOAD = 113,
    /// More payload than the header declares.
    MALLORN_ERR_PAYLOAD_TOO_LONG = 114,
    /// The payload ended early.
    MALLORN_ERR_PAYLOAD_TRUNCATED = 115,
    /// A payload segment failed its hash; feed again from the session's payload offset.
    MALLORN_ERR_PAYLOAD_SEGMENT_MISMATCH = 116,
    /// The result read back from flash does not match its SHA-256.
    MALLORN_ERR_RESULT_HASH_MISMATCH = 117,
    /// Segment size out of range.
    MALLORN_ERR_BAD_SEGMENT_SIZE = 118,
    /// Payload length impossible for its segments.
    MALLORN_ERR_BAD_PAYLOAD_LENGTH = 119,
    /// Reserved header bytes are not zero.
    MALLORN_ERR_RESERVED_NOT_ZERO = 120,
    /// A programmed range did not read back as written.
    MALLORN_ERR_PROGRAM_VERIFY_FAILED = 121,
    /// The session ended with an earlier error.
    MALLORN_ERR_SESSION_ENDED = 122,
    /// Security counter out of range.
    MALLORN_ERR_COUNTER_OUT_OF_RANGE = 123,
    /// A newer update is in progress or pending.
    MALLORN_ERR_COUNTER_BELOW_PENDING = 124,
    /// The state journal cannot be read.
    MALLORN_ERR_JOURNAL_UNREADABLE = 125,
    /// The payload read outside the base image.
    MALLORN_ERR_BASE_OUT_OF_RANGE = 126,
    /// A flash callback failed (or refused an unaligned or out-of-bounds access).
    MALLORN_ERR_FLASH = 127,
    /// The layout does not fit the flash geometry.
    MALLORN_ERR_LAYOUT = 128,
    /// The journal is blank: the device was never provisioned.
    MALLORN_ERR_JOURNAL_BLANK = 129,
    /// A journal record did not read back as written.
    MALLORN_ERR_JOURNAL_WRITE_FAILED = 130,
    /// The journal's sequence numbers are used up.
    MALLORN_ERR_JOURNAL_EXHAUSTED = 131,
    /// A model does not fit its slot.
    MALLORN_ERR_SLOT_TOO_SMALL = 132,
    /// The bundle's chunk alignment is below the flash erase size.
    MALLORN_ERR_CHUNK_ALIGN_BELOW_ERASE_SIZE = 133,
    /// The bundle's base is not the confirmed model.
    MALLORN_ERR_BASE_NOT_ACTIVE_IMAGE = 134,
    /// A model is on trial, or a cancelled trial was loaded in this power cycle: confirm it,
    /// or reset first.
    MALLORN_ERR_UPDATE_DURING_TRIAL = 135,
    /// Nothing on trial to confirm.
    MALLORN_ERR_NOT_IN_TRIAL = 136,
    /// Internal: result written out of order.
    MALLORN_ERR_RESULT_WRITE_OUT_OF_ORDER = 137,
    /// Staging region too small.
    MALLORN_ERR_STAGING_TOO_SMALL = 138,
    /// No staging region.
    MALLORN_ERR_NO_STAGING_REGION = 139,
    /// Unsigned bundle refused.
    MALLORN_ERR_UNSIGNED_REJECTED = 140,
    /// Signed by a key the device does not trust.
    MALLORN_ERR_UNKNOWN_KEY = 141,
    /// A trusted key is not a valid Ed25519 public key.
    MALLORN_ERR_INVALID_TRUSTED_KEY = 142,
    /// The signature does not verify.
    MALLORN_ERR_BAD_SIGNATURE = 143,
    /// The bundle is for another SKU.
    MALLORN_ERR_WRONG_SKU = 144,
    /// The bundle is for another model.
    MALLORN_ERR_WRONG_MODEL = 145,
    /// The bundle's security counter is not above the device's (rollback or replay).
    MALLORN_ERR_COUNTER_NOT_INCREASING = 146,
    /// The active slot does not hold the bundle's base.
    MALLORN_ERR_WRONG_BASE = 147,
    /// An admission from another updater, or from before the device changed.
    MALLORN_ERR_STALE_ADMISSION = 148,
}

use mallorn_status_t as S;

impl From<Error> for mallorn_status_t {
    fn from(error: Error) -> Self {
        match error {
            Error::BadMagic => S::MALLORN_ERR_BAD_MAGIC,
            Error::UnsupportedFormatVersion { .. } => S::MALLORN_ERR_UNSUPPORTED_FORMAT_VERSION,
            Error::BadHeaderLength { .. } => S::MALLORN_ERR_BAD_HEADER_LENGTH,
            Error::UnknownFlags { .. } => S::MALLORN_ERR_UNKNOWN_FLAGS,
            Error::BadErrorBound { .. } => S::MALLORN_ERR_BAD_ERROR_BOUND,
            Error::UnknownDecoders { .. } => S::MALLORN_ERR_UNKNOWN_DECODERS,
            Error::BadChunkAlignment { .. } => S::MALLORN_ERR_BAD_CHUNK_ALIGNMENT,
            Error::FullImageWithBase => S::MALLORN_ERR_FULL_IMAGE_WITH_BASE,
            Error::UnknownCoderProfile => S::MALLORN_ERR_UNKNOWN_CODER_PROFILE,
            Error::UnsignedWithKeyId => S::MALLORN_ERR_UNSIGNED_WITH_KEY_ID,
            Error::WorkBufferTooSmall { .. } => S::MALLORN_ERR_WORK_BUFFER_TOO_SMALL,
            Error::RamRequirementUnderstated { .. } => S::MALLORN_ERR_RAM_REQUIREMENT_UNDERSTATED,
            Error::UndeclaredDecoder { .. } => S::MALLORN_ERR_UNDECLARED_DECODER,
            Error::CorruptPayload { .. } => S::MALLORN_ERR_CORRUPT_PAYLOAD,
            Error::PayloadTooLong => S::MALLORN_ERR_PAYLOAD_TOO_LONG,
            Error::PayloadTruncated => S::MALLORN_ERR_PAYLOAD_TRUNCATED,
            Error::PayloadSegmentMismatch { .. } => S::MALLORN_ERR_PAYLOAD_SEGMENT_MISMATCH,
            other => lifecycle_status(other),
        }
    }
}

/// The storage, lifecycle and admission half of the mapping.
fn lifecycle_status(error: Error) -> mallorn_status_t {
    match error {
        Error::ResultHashMismatch => S::MALLORN_ERR_RESULT_HASH_MISMATCH,
        Error::BadSegmentSize { .. } => S::MALLORN_ERR_BAD_SEGMENT_SIZE,
        Error::BadPayloadLength { .. } => S::MALLORN_ERR_BAD_PAYLOAD_LENGTH,
        Error::ReservedNotZero => S::MALLORN_ERR_RESERVED_NOT_ZERO,
        Error::ProgramVerifyFailed { .. } => S::MALLORN_ERR_PROGRAM_VERIFY_FAILED,
        Error::SessionEnded => S::MALLORN_ERR_SESSION_ENDED,
        Error::CounterOutOfRange { .. } => S::MALLORN_ERR_COUNTER_OUT_OF_RANGE,
        Error::CounterBelowPending { .. } => S::MALLORN_ERR_COUNTER_BELOW_PENDING,
        Error::JournalUnreadable { .. } => S::MALLORN_ERR_JOURNAL_UNREADABLE,
        Error::BaseOutOfRange { .. } => S::MALLORN_ERR_BASE_OUT_OF_RANGE,
        Error::Flash(_) => S::MALLORN_ERR_FLASH,
        Error::Layout(_) => S::MALLORN_ERR_LAYOUT,
        Error::JournalBlank => S::MALLORN_ERR_JOURNAL_BLANK,
        Error::JournalWriteFailed => S::MALLORN_ERR_JOURNAL_WRITE_FAILED,
        Error::JournalExhausted => S::MALLORN_ERR_JOURNAL_EXHAUSTED,
        Error::SlotTooSmall { .. } => S::MALLORN_ERR_SLOT_TOO_SMALL,
        Error::ChunkAlignBelowEraseSize { .. } => S::MALLORN_ERR_CHUNK_ALIGN_BELOW_ERASE_SIZE,
        Error::BaseNotActiveImage => S::MALLORN_ERR_BASE_NOT_ACTIVE_IMAGE,
        Error::UpdateDuringTrial => S::MALLORN_ERR_UPDATE_DURING_TRIAL,
        Error::NotInTrial => S::MALLORN_ERR_NOT_IN_TRIAL,
        Error::ResultWriteOutOfOrder { .. } => S::MALLORN_ERR_RESULT_WRITE_OUT_OF_ORDER,
        Error::StagingTooSmall { .. } => S::MALLORN_ERR_STAGING_TOO_SMALL,
        Error::NoStagingRegion => S::MALLORN_ERR_NO_STAGING_REGION,
        Error::UnsignedRejected => S::MALLORN_ERR_UNSIGNED_REJECTED,
        Error::UnknownKey { .. } => S::MALLORN_ERR_UNKNOWN_KEY,
        Error::InvalidTrustedKey { .. } => S::MALLORN_ERR_INVALID_TRUSTED_KEY,
        Error::BadSignature => S::MALLORN_ERR_BAD_SIGNATURE,
        Error::WrongSku { .. } => S::MALLORN_ERR_WRONG_SKU,
        Error::WrongModel { .. } => S::MALLORN_ERR_WRONG_MODEL,
        Error::CounterNotIncreasing { .. } => S::MALLORN_ERR_COUNTER_NOT_INCREASING,
        Error::WrongBase => S::MALLORN_ERR_WRONG_BASE,
        Error::StaleAdmission => S::MALLORN_ERR_STALE_ADMISSION,
        // `Error` is non-exhaustive: a variant added later reads as "other" until named here.
        _ => S::MALLORN_ERR_OTHER,
    }
}

/// Turns a runtime result into a status.
pub(crate) fn status_of(result: Result<(), Error>) -> mallorn_status_t {
    match result {
        Ok(()) => S::MALLORN_OK,
        Err(e) => e.into(),
    }
}

impl mallorn_status_t {
    /// The text of a status.
    pub fn text(self) -> &'static CStr {
        match self {
            S::MALLORN_OK => c"ok",
            S::MALLORN_ERR_NULL_POINTER => c"a required pointer or callback is NULL",
            S::MALLORN_ERR_INVALID_ARGUMENT => c"an argument is out of range",
            S::MALLORN_ERR_NOT_OPEN => c"the updater or session is not open",
            S::MALLORN_ERR_BUSY => c"the updater has an open session or is in a call",
            S::MALLORN_ERR_TOO_MANY_KEYS => c"more trusted keys than MALLORN_MAX_TRUSTED_KEYS",
            S::MALLORN_ERR_OTHER => c"runtime error",
            other => bundle_text(other),
        }
    }
}

/// Text of the codes that come from reading and applying a bundle.
fn bundle_text(status: mallorn_status_t) -> &'static CStr {
    match status {
        S::MALLORN_ERR_BAD_MAGIC => c"not a Mallorn bundle (bad magic)",
        S::MALLORN_ERR_UNSUPPORTED_FORMAT_VERSION => c"bundle format version not supported",
        S::MALLORN_ERR_BAD_HEADER_LENGTH => c"bad bundle header length",
        S::MALLORN_ERR_UNKNOWN_FLAGS => c"bundle sets unknown flags",
        S::MALLORN_ERR_BAD_ERROR_BOUND => {
            c"the bundle's error bound does not match its lossless flag"
        }
        S::MALLORN_ERR_UNKNOWN_DECODERS => c"bundle asks for unknown decoders",
        S::MALLORN_ERR_BAD_CHUNK_ALIGNMENT => c"bundle chunk alignment out of range",
        S::MALLORN_ERR_FULL_IMAGE_WITH_BASE => c"full-image bundle names a base",
        S::MALLORN_ERR_UNKNOWN_CODER_PROFILE => c"unknown coder profile",
        S::MALLORN_ERR_UNSIGNED_WITH_KEY_ID => c"unsigned bundle names a key",
        S::MALLORN_ERR_WORK_BUFFER_TOO_SMALL => c"work buffer smaller than the bundle needs",
        S::MALLORN_ERR_RAM_REQUIREMENT_UNDERSTATED => c"bundle understates its work RAM",
        S::MALLORN_ERR_UNDECLARED_DECODER => c"chunk uses an undeclared decoder",
        S::MALLORN_ERR_CORRUPT_PAYLOAD => c"corrupt payload",
        S::MALLORN_ERR_PAYLOAD_TOO_LONG => c"more payload than the header declares",
        S::MALLORN_ERR_PAYLOAD_TRUNCATED => c"payload ended before the result was complete",
        S::MALLORN_ERR_PAYLOAD_SEGMENT_MISMATCH => {
            c"payload segment failed its hash (feed again from the payload offset)"
        }
        other => storage_text(other),
    }
}

/// Text of the codes that come from the flash, the journal and admission.
fn storage_text(status: mallorn_status_t) -> &'static CStr {
    match status {
        S::MALLORN_ERR_RESULT_HASH_MISMATCH => c"result on flash does not match its SHA-256",
        S::MALLORN_ERR_BAD_SEGMENT_SIZE => c"bundle segment size out of range",
        S::MALLORN_ERR_BAD_PAYLOAD_LENGTH => c"bundle payload length impossible for its segments",
        S::MALLORN_ERR_RESERVED_NOT_ZERO => c"reserved header bytes are not zero",
        S::MALLORN_ERR_PROGRAM_VERIFY_FAILED => c"programmed flash did not read back as written",
        S::MALLORN_ERR_SESSION_ENDED => c"session ended with an earlier error",
        S::MALLORN_ERR_COUNTER_OUT_OF_RANGE => c"security counter out of range",
        S::MALLORN_ERR_COUNTER_BELOW_PENDING => c"a newer update is in progress or pending",
        S::MALLORN_ERR_JOURNAL_UNREADABLE => c"state journal unreadable",
        S::MALLORN_ERR_BASE_OUT_OF_RANGE => c"payload read outside the base model",
        S::MALLORN_ERR_FLASH => c"flash access failed",
        S::MALLORN_ERR_LAYOUT => c"flash layout does not fit the flash geometry",
        S::MALLORN_ERR_JOURNAL_BLANK => c"state journal blank: device not provisioned",
        S::MALLORN_ERR_JOURNAL_WRITE_FAILED => c"journal record did not read back as written",
        S::MALLORN_ERR_JOURNAL_EXHAUSTED => c"journal sequence numbers used up",
        S::MALLORN_ERR_SLOT_TOO_SMALL => c"model does not fit its slot",
        S::MALLORN_ERR_CHUNK_ALIGN_BELOW_ERASE_SIZE => c"bundle chunk alignment below erase size",
        S::MALLORN_ERR_BASE_NOT_ACTIVE_IMAGE => c"bundle base is not the confirmed model",
        S::MALLORN_ERR_UPDATE_DURING_TRIAL => {
            c"a model is on trial or was loaded in this power cycle: confirm it or reset first"
        }
        S::MALLORN_ERR_NOT_IN_TRIAL => c"no model on trial to confirm",
        S::MALLORN_ERR_RESULT_WRITE_OUT_OF_ORDER => c"internal: result written out of order",
        S::MALLORN_ERR_STAGING_TOO_SMALL => c"staging region smaller than the bundle",
        S::MALLORN_ERR_NO_STAGING_REGION => c"layout has no staging region",
        other => admission_text(other),
    }
}

/// Text of the admission refusals.
fn admission_text(status: mallorn_status_t) -> &'static CStr {
    match status {
        S::MALLORN_ERR_UNSIGNED_REJECTED => c"unsigned bundle refused",
        S::MALLORN_ERR_UNKNOWN_KEY => c"bundle signed by a key the device does not trust",
        S::MALLORN_ERR_INVALID_TRUSTED_KEY => c"a trusted key is not a valid Ed25519 key",
        S::MALLORN_ERR_BAD_SIGNATURE => c"bad signature",
        S::MALLORN_ERR_WRONG_SKU => c"bundle is for another SKU",
        S::MALLORN_ERR_WRONG_MODEL => c"bundle is for another model",
        S::MALLORN_ERR_COUNTER_NOT_INCREASING => c"security counter not above the device's",
        S::MALLORN_ERR_WRONG_BASE => c"active slot does not hold the bundle's base",
        S::MALLORN_ERR_STALE_ADMISSION => c"admission from another updater or a changed device",
        _ => c"unknown status",
    }
}

/// The text of `status`: a static, NUL-terminated English string (never NULL). Takes the
/// code as an integer so that any value is safe to pass.
#[unsafe(no_mangle)]
pub extern "C" fn mallorn_strerror(status: i32) -> *const c_char {
    match status_from_code(status) {
        Some(s) => s.text().as_ptr(),
        None => c"unknown status".as_ptr(),
    }
}

/// The status with code `code`, if there is one.
pub(crate) fn status_from_code(code: i32) -> Option<mallorn_status_t> {
    ALL.iter().copied().find(|s| *s as i32 == code)
}

/// Every status, in code order.
pub(crate) const ALL: [mallorn_status_t; 56] = [
    S::MALLORN_OK,
    S::MALLORN_ERR_NULL_POINTER,
    S::MALLORN_ERR_INVALID_ARGUMENT,
    S::MALLORN_ERR_NOT_OPEN,
    S::MALLORN_ERR_BUSY,
    S::MALLORN_ERR_TOO_MANY_KEYS,
    S::MALLORN_ERR_OTHER,
    S::MALLORN_ERR_BAD_MAGIC,
    S::MALLORN_ERR_UNSUPPORTED_FORMAT_VERSION,
    S::MALLORN_ERR_BAD_HEADER_LENGTH,
    S::MALLORN_ERR_UNKNOWN_FLAGS,
    S::MALLORN_ERR_BAD_ERROR_BOUND,
    S::MALLORN_ERR_UNKNOWN_DECODERS,
    S::MALLORN_ERR_BAD_CHUNK_ALIGNMENT,
    S::MALLORN_ERR_FULL_IMAGE_WITH_BASE,
    S::MALLORN_ERR_UNKNOWN_CODER_PROFILE,
    S::MALLORN_ERR_UNSIGNED_WITH_KEY_ID,
    S::MALLORN_ERR_WORK_BUFFER_TOO_SMALL,
    S::MALLORN_ERR_RAM_REQUIREMENT_UNDERSTATED,
    S::MALLORN_ERR_UNDECLARED_DECODER,
    S::MALLORN_ERR_CORRUPT_PAYLOAD,
    S::MALLORN_ERR_PAYLOAD_TOO_LONG,
    S::MALLORN_ERR_PAYLOAD_TRUNCATED,
    S::MALLORN_ERR_PAYLOAD_SEGMENT_MISMATCH,
    S::MALLORN_ERR_RESULT_HASH_MISMATCH,
    S::MALLORN_ERR_BAD_SEGMENT_SIZE,
    S::MALLORN_ERR_BAD_PAYLOAD_LENGTH,
    S::MALLORN_ERR_RESERVED_NOT_ZERO,
    S::MALLORN_ERR_PROGRAM_VERIFY_FAILED,
    S::MALLORN_ERR_SESSION_ENDED,
    S::MALLORN_ERR_COUNTER_OUT_OF_RANGE,
    S::MALLORN_ERR_COUNTER_BELOW_PENDING,
    S::MALLORN_ERR_JOURNAL_UNREADABLE,
    S::MALLORN_ERR_BASE_OUT_OF_RANGE,
    S::MALLORN_ERR_FLASH,
    S::MALLORN_ERR_LAYOUT,
    S::MALLORN_ERR_JOURNAL_BLANK,
    S::MALLORN_ERR_JOURNAL_WRITE_FAILED,
    S::MALLORN_ERR_JOURNAL_EXHAUSTED,
    S::MALLORN_ERR_SLOT_TOO_SMALL,
    S::MALLORN_ERR_CHUNK_ALIGN_BELOW_ERASE_SIZE,
    S::MALLORN_ERR_BASE_NOT_ACTIVE_IMAGE,
    S::MALLORN_ERR_UPDATE_DURING_TRIAL,
    S::MALLORN_ERR_NOT_IN_TRIAL,
    S::MALLORN_ERR_RESULT_WRITE_OUT_OF_ORDER,
    S::MALLORN_ERR_STAGING_TOO_SMALL,
    S::MALLORN_ERR_NO_STAGING_REGION,
    S::MALLORN_ERR_UNSIGNED_REJECTED,
    S::MALLORN_ERR_UNKNOWN_KEY,
    S::MALLORN_ERR_INVALID_TRUSTED_KEY,
    S::MALLORN_ERR_BAD_SIGNATURE,
    S::MALLORN_ERR_WRONG_SKU,
    S::MALLORN_ERR_WRONG_MODEL,
    S::MALLORN_ERR_COUNTER_NOT_INCREASING,
    S::MALLORN_ERR_WRONG_BASE,
    S::MALLORN_ERR_STALE_ADMISSION,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_text_and_round_trips() {
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(status_from_code(*s as i32), Some(*s));
            assert_ne!(s.text(), c"unknown status", "{s:?}");
            for t in &ALL[..i] {
                assert_ne!(s.text(), t.text(), "{s:?} and {t:?}");
            }
        }
        assert_eq!(status_from_code(-1), None);
        assert_eq!(status_from_code(1000), None);
    }
}
