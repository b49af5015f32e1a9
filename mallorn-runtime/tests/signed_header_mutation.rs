//! Every single-bit change to a signed header or its signature is refused, each with the error
//! that names what the bit means: a structural error where the parser can tell, `UnknownKey`
//! in the key id, `BadSignature` everywhere else. Runs in CI on stable (2176 positions).

use ed25519_dalek::{Signer, SigningKey};
use mallorn_runtime::Error;
use mallorn_runtime::format::segments::Segments;
use mallorn_runtime::format::{
    BundleHeader, Decoders, Flags, HEADER_LEN, ModelVersion, SIGNATURE_LEN, key_id, model_id,
    sku_id,
};
use mallorn_runtime::verify::{DeviceContext, TrustedKey, admit};

/// What kind of refusal a flipped bit must cause.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    BadMagic,
    UnsupportedFormatVersion,
    BadHeaderLength,
    UnknownFlags,
    BadErrorBound,
    FullImageWithBase,
    UnsignedWithKeyId,
    UnknownDecoders,
    BadChunkAlignment,
    BadSegmentSize,
    BadPayloadLength,
    ReservedNotZero,
    UnknownKey,
    BadSignature,
}

fn class_of(error: &Error) -> Class {
    match error {
        Error::BadMagic => Class::BadMagic,
        Error::UnsupportedFormatVersion { .. } => Class::UnsupportedFormatVersion,
        Error::BadHeaderLength { .. } => Class::BadHeaderLength,
        Error::UnknownFlags { .. } => Class::UnknownFlags,
        Error::BadErrorBound { .. } => Class::BadErrorBound,
        Error::FullImageWithBase => Class::FullImageWithBase,
        Error::UnsignedWithKeyId => Class::UnsignedWithKeyId,
        Error::UnknownDecoders { .. } => Class::UnknownDecoders,
        Error::BadChunkAlignment { .. } => Class::BadChunkAlignment,
        Error::BadSegmentSize { .. } => Class::BadSegmentSize,
        Error::BadPayloadLength { .. } => Class::BadPayloadLength,
        Error::ReservedNotZero => Class::ReservedNotZero,
        Error::UnknownKey { .. } => Class::UnknownKey,
        Error::BadSignature => Class::BadSignature,
        other => panic!("unexpected error {other:?}"),
    }
}

const CHUNK_ALIGN_LOG2: u8 = 12;
const SEGMENT_LOG2: u8 = 13;
const PAYLOAD_LEN: u64 = 18_900;

/// The refusal of a payload length or segment length that passes or fails the segment layout.
fn segment_class(segment_log2: u8, payload_len: u64) -> Class {
    match Segments::from_wire(segment_log2, payload_len) {
        Ok(_) => Class::BadSignature,
        Err(Error::BadSegmentSize { .. }) => Class::BadSegmentSize,
        Err(_) => Class::BadPayloadLength,
    }
}

/// The refusal expected for flipping `bit` of header byte `byte`, from the documented layout.
fn expected_for_header_bit(byte: usize, bit: u8) -> Class {
    match byte {
        0..4 => Class::BadMagic,
        4..6 => Class::UnsupportedFormatVersion,
        6..8 => Class::BadHeaderLength,
        8 => match bit {
            0 => Class::BadErrorBound,
            1 => Class::FullImageWithBase, // the header names a base
            2 => Class::UnsignedWithKeyId, // the header names a key
            _ => Class::UnknownFlags,
        },
        9..12 => Class::UnknownFlags,
        // Bits 0..=2 are known decoders: the set changes, the signature no longer matches.
        12 if bit < 3 => Class::BadSignature,
        12 | 13 => Class::UnknownDecoders,
        15 => {
            let flipped = CHUNK_ALIGN_LOG2 ^ (1 << bit);
            if (6..=30).contains(&flipped) {
                Class::BadSignature
            } else {
                Class::BadChunkAlignment
            }
        }
        16..24 => Class::UnknownKey,
        152..160 => {
            let flipped = PAYLOAD_LEN ^ (1u64 << ((byte - 152) * 8 + usize::from(bit)));
            segment_class(SEGMENT_LOG2, flipped)
        }
        196..200 => Class::BadErrorBound, // a lossless bundle's error bound is 0
        200 => segment_class(SEGMENT_LOG2 ^ (1 << bit), PAYLOAD_LEN),
        201..208 => Class::ReservedNotZero,
        _ => Class::BadSignature,
    }
}

#[test]
fn every_bit_of_a_signed_header_and_signature_is_refused() {
    let signer = SigningKey::from_bytes(&[42; 32]);
    let rotation = SigningKey::from_bytes(&[43; 32]);
    let trusted = [
        TrustedKey::new(signer.verifying_key().to_bytes()).unwrap(),
        TrustedKey::new(rotation.verifying_key().to_bytes()).unwrap(),
    ];
    let header = BundleHeader {
        flags: Flags(Flags::LOSSLESS),
        decoders: Decoders(Decoders::STORED),
        coder_profile: 0,
        chunk_align_log2: CHUNK_ALIGN_LOG2,
        key_id: key_id(&signer.verifying_key().to_bytes()),
        model_id: model_id("kws"),
        sku_id: sku_id("board-a"),
        from_version: ModelVersion::new(1, 0, 0),
        to_version: ModelVersion::new(1, 1, 0),
        security_counter: 7,
        base_len: 18_712,
        base_sha256: [0xa5; 32],
        result_len: 18_800,
        result_sha256: [0x5a; 32],
        payload_len: PAYLOAD_LEN,
        payload_sha256: [0x3c; 32],
        ram_required: 12_000,
        error_bound_bits: 0,
        segment_log2: SEGMENT_LOG2,
    };
    let header_bytes = header.to_bytes();
    let signature = signer.sign(&header_bytes).to_bytes();
    let device = DeviceContext {
        sku_id: sku_id("board-a"),
        model_id: model_id("kws"),
        committed_counter: 6,
        trusted_keys: &trusted,
    };
    assert_eq!(admit(&header_bytes, &signature, &device), Ok(header));

    let mut mismatches = Vec::new();
    for byte in 0..HEADER_LEN {
        for bit in 0..8u8 {
            let mut h = header_bytes;
            h[byte] ^= 1 << bit;
            let got = admit(&h, &signature, &device).expect_err("flipped header bit admitted");
            let expected = expected_for_header_bit(byte, bit);
            if class_of(&got) != expected {
                mismatches.push(format!(
                    "header byte {byte} bit {bit}: {got:?}, expected {expected:?}"
                ));
            }
        }
    }
    for byte in 0..SIGNATURE_LEN {
        for bit in 0..8u8 {
            let mut s = signature;
            s[byte] ^= 1 << bit;
            let got = admit(&header_bytes, &s, &device).expect_err("flipped signature admitted");
            if got != Error::BadSignature {
                mismatches.push(format!("signature byte {byte} bit {bit}: {got:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
