//! The fixed-size bundle header: everything a device checks before it parses a single byte of
//! payload. The header is followed by a 64-byte Ed25519 signature over exactly these bytes.
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 4 | magic `MLRN` |
//! | 4 | 2 | format version (2) |
//! | 6 | 2 | header length (208) |
//! | 8 | 4 | flags: bit 0 lossless, bit 1 full image, bit 2 unsigned |
//! | 12 | 2 | decoders the payload needs (bit 0 stored, bit 1 fast, bit 2 smallest) |
//! | 14 | 1 | coder profile of the smallest decoder |
//! | 15 | 1 | log2 of the chunk alignment of the output |
//! | 16 | 8 | key id (first 8 bytes of SHA-256 of the signing public key) |
//! | 24 | 8 | model id |
//! | 32 | 8 | target SKU id |
//! | 40 | 12 | from-version (u32 major, minor, patch) |
//! | 52 | 12 | to-version |
//! | 64 | 8 | security counter |
//! | 72 | 8 | base length |
//! | 80 | 32 | SHA-256 of the base |
//! | 112 | 8 | result length |
//! | 120 | 32 | SHA-256 of the result |
//! | 152 | 8 | payload length |
//! | 160 | 32 | SHA-256 of the payload's first segment (the head of its hash chain) |
//! | 192 | 4 | work buffer bytes the applier needs |
//! | 196 | 4 | error bound (f32 bits; 0 for lossless bundles) |
//! | 200 | 1 | log2 of the payload segment length (see [`crate::format::segments`]) |
//! | 201 | 7 | reserved, zero |
//!
//! All integers are little-endian.

use crate::codec::smallest::Profile;
use crate::error::Error;
use crate::format::chunk::CodecId;
use crate::format::segments::Segments;
use crate::format::version::ModelVersion;

/// The four magic bytes that open every bundle.
pub const MAGIC: [u8; 4] = *b"MLRN";
/// The wire format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 2;
/// Length of the fixed header in bytes.
pub const HEADER_LEN: usize = 208;
/// Reserved header bytes at the end (zero in version 2).
const RESERVED_LEN: usize = 7;
/// Length of the Ed25519 signature that follows the header.
pub const SIGNATURE_LEN: usize = 64;
/// Bytes before the payload starts: header plus signature.
pub const SIGNED_BUNDLE_PREFIX: usize = HEADER_LEN + SIGNATURE_LEN;
/// Smallest chunk alignment (one SHA-256 block, so checkpoints never split a hash block).
pub const MIN_CHUNK_ALIGN_LOG2: u8 = 6;
/// Largest chunk alignment (1 GiB).
pub const MAX_CHUNK_ALIGN_LOG2: u8 = 30;

/// Header flag bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags(pub u32);

impl Flags {
    /// The result is the release file itself, byte for byte. Clear for a lossy release: the
    /// result is the release's shipped image, whose weights are within the header's error
    /// bound of the release file (the device still rebuilds the result byte-exactly and checks
    /// its SHA-256 like any other).
    pub const LOSSLESS: u32 = 1 << 0;
    /// The payload does not read a base: it rebuilds the model from nothing.
    pub const FULL_IMAGE: u32 = 1 << 1;
    /// The bundle carries no signature (key id and signature are zero).
    pub const UNSIGNED: u32 = 1 << 2;
    const KNOWN: u32 = Self::LOSSLESS | Self::FULL_IMAGE | Self::UNSIGNED;

    /// Whether every bit in `bits` is set.
    pub const fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

/// Whether `flags` and `error_bound_bits` agree: a lossless bundle has bound 0, a lossy one a
/// positive, finite `f32` (neither zero, negative, infinite nor NaN).
pub const fn error_bound_matches(flags: Flags, error_bound_bits: u32) -> bool {
    const POSITIVE_INFINITY: u32 = 0x7f80_0000;
    if flags.contains(Flags::LOSSLESS) {
        error_bound_bits == 0
    } else {
        error_bound_bits != 0 && error_bound_bits < POSITIVE_INFINITY
    }
}

/// The set of payload decoders a bundle needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decoders(pub u16);

impl Decoders {
    /// Chunks stored verbatim.
    pub const STORED: u16 = CodecId::Stored.decoder_bit();
    /// Byte-aligned operations, no entropy coding: the fastest to apply.
    pub const FAST: u16 = CodecId::Fast.decoder_bit();
    /// Context-modelled binary range coding: the smallest bundles.
    pub const SMALLEST: u16 = CodecId::Smallest.decoder_bit();
    /// Every decoder this crate implements.
    pub const ALL: u16 = {
        let mut bits = 0;
        let mut i = 0;
        while i < CodecId::ALL.len() {
            bits |= CodecId::ALL[i].decoder_bit();
            i += 1;
        }
        bits
    };
    /// The decoders this build of the crate contains: `stored`, plus `fast` and `smallest`
    /// when their cargo features are on.
    pub const BUILT: u16 = Self::STORED
        | if cfg!(feature = "fast") {
            Self::FAST
        } else {
            0
        }
        | if cfg!(feature = "smallest") {
            Self::SMALLEST
        } else {
            0
        };

    /// Each decoder bit with the name tools print for it ([`CodecId::name`]), in bit order.
    pub const NAMES: [(u16, &'static str); CodecId::ALL.len()] = {
        let mut names = [(0, ""); CodecId::ALL.len()];
        let mut i = 0;
        while i < CodecId::ALL.len() {
            names[i] = (CodecId::ALL[i].decoder_bit(), CodecId::ALL[i].name());
            i += 1;
        }
        names
    };

    /// Whether every decoder in `bits` is in the set.
    pub const fn contains(self, bits: u16) -> bool {
        self.0 & bits == bits
    }

    /// The decoders this build of the runtime contains ([`Decoders::BUILT`]). A generated
    /// include asserts at compile time that they cover its SKU's bundles.
    pub const fn built() -> Self {
        Self(Self::BUILT)
    }

    /// The names of the decoders in the set, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |&(bit, _)| self.contains(bit))
            .map(|(_, name)| name)
    }
}

/// The decoded fixed header of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleHeader {
    /// Flag bits, see [`Flags`].
    pub flags: Flags,
    /// Decoders the payload uses.
    pub decoders: Decoders,
    /// Model-size profile of the smallest decoder (0 when it is not used).
    pub coder_profile: u8,
    /// Every chunk but the last produces a multiple of `1 << chunk_align_log2` output bytes.
    pub chunk_align_log2: u8,
    /// Which trusted key signed the bundle; zero when unsigned.
    pub key_id: [u8; 8],
    /// Which model of the device this bundle updates.
    pub model_id: [u8; 8],
    /// Which device SKU the bundle was built for.
    pub sku_id: [u8; 8],
    /// Release the base belongs to.
    pub from_version: ModelVersion,
    /// Release the result belongs to.
    pub to_version: ModelVersion,
    /// Anti-rollback counter: must be greater than the device's committed counter.
    pub security_counter: u64,
    /// Length of the base model in bytes (0 for full images).
    pub base_len: u64,
    /// SHA-256 of the base model (zero for full images).
    pub base_sha256: [u8; 32],
    /// Length of the result in bytes.
    pub result_len: u64,
    /// SHA-256 of the result.
    pub result_sha256: [u8; 32],
    /// Length of the payload that follows the signature.
    pub payload_len: u64,
    /// SHA-256 of the payload's first wire segment: the head of the hash chain that
    /// authenticates the payload (see [`crate::format::segments`]).
    pub payload_sha256: [u8; 32],
    /// Work buffer bytes the applier needs for this payload.
    pub ram_required: u32,
    /// Largest absolute error of any weight of a lossy result against its release file, as
    /// `f32` bits (positive and finite); zero for lossless bundles. See
    /// [`error_bound_matches`].
    pub error_bound_bits: u32,
    /// The payload's segments hold `1 << segment_log2` plain bytes each (the last fewer).
    pub segment_log2: u8,
}

impl BundleHeader {
    /// Decodes and checks the structure of a header. This proves nothing about who made it:
    /// check the signature before trusting any field.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Self, Error> {
        let mut r = FieldReader { bytes, at: 0 };
        if r.array::<4>() != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = r.u16();
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedFormatVersion { got: version });
        }
        let header_len = r.u16();
        if usize::from(header_len) != HEADER_LEN {
            return Err(Error::BadHeaderLength { got: header_len });
        }
        let header = Self {
            flags: Flags(r.u32()),
            decoders: Decoders(r.u16()),
            coder_profile: r.u8(),
            chunk_align_log2: r.u8(),
            key_id: r.array(),
            model_id: r.array(),
            sku_id: r.array(),
            from_version: ModelVersion::from_le_bytes(&r.array()),
            to_version: ModelVersion::from_le_bytes(&r.array()),
            security_counter: r.u64(),
            base_len: r.u64(),
            base_sha256: r.array(),
            result_len: r.u64(),
            result_sha256: r.array(),
            payload_len: r.u64(),
            payload_sha256: r.array(),
            ram_required: r.u32(),
            error_bound_bits: r.u32(),
            segment_log2: r.u8(),
        };
        if r.array::<RESERVED_LEN>() != [0; RESERVED_LEN] {
            return Err(Error::ReservedNotZero);
        }
        debug_assert_eq!(r.at, HEADER_LEN);
        header.check()?;
        Ok(header)
    }

    fn check(&self) -> Result<(), Error> {
        if self.flags.0 & !Flags::KNOWN != 0 {
            return Err(Error::UnknownFlags {
                flags: self.flags.0,
            });
        }
        if !error_bound_matches(self.flags, self.error_bound_bits) {
            return Err(Error::BadErrorBound {
                bits: self.error_bound_bits,
            });
        }
        if self.decoders.0 & !Decoders::ALL != 0 {
            return Err(Error::UnknownDecoders {
                decoders: self.decoders.0,
            });
        }
        // Refused here, not at the first smallest chunk: by then `begin` has written to the
        // journal, and every retry of the bundle would write again.
        if self.decoders.contains(Decoders::SMALLEST)
            && Profile::from_u8(self.coder_profile).is_none()
        {
            return Err(Error::UnknownCoderProfile);
        }
        if !(MIN_CHUNK_ALIGN_LOG2..=MAX_CHUNK_ALIGN_LOG2).contains(&self.chunk_align_log2) {
            return Err(Error::BadChunkAlignment {
                log2: self.chunk_align_log2,
            });
        }
        if self.flags.contains(Flags::FULL_IMAGE)
            && (self.base_len != 0 || self.base_sha256 != [0; 32])
        {
            return Err(Error::FullImageWithBase);
        }
        if self.flags.contains(Flags::UNSIGNED) && self.key_id != [0; 8] {
            return Err(Error::UnsignedWithKeyId);
        }
        self.segments().map(|_| ())
    }

    /// Encodes the header. `parse(&h.to_bytes()) == Ok(h)` for every header that passes `parse`.
    // HEADER_LEN is a constant far below u16::MAX.
    #[allow(clippy::cast_possible_truncation)]
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut w = FieldWriter {
            bytes: [0; HEADER_LEN],
            at: 0,
        };
        w.put(&MAGIC);
        w.put(&FORMAT_VERSION.to_le_bytes());
        w.put(&(HEADER_LEN as u16).to_le_bytes());
        w.put(&self.flags.0.to_le_bytes());
        w.put(&self.decoders.0.to_le_bytes());
        w.put(&[self.coder_profile, self.chunk_align_log2]);
        w.put(&self.key_id);
        w.put(&self.model_id);
        w.put(&self.sku_id);
        w.put(&self.from_version.to_le_bytes());
        w.put(&self.to_version.to_le_bytes());
        w.put(&self.security_counter.to_le_bytes());
        w.put(&self.base_len.to_le_bytes());
        w.put(&self.base_sha256);
        w.put(&self.result_len.to_le_bytes());
        w.put(&self.result_sha256);
        w.put(&self.payload_len.to_le_bytes());
        w.put(&self.payload_sha256);
        w.put(&self.ram_required.to_le_bytes());
        w.put(&self.error_bound_bits.to_le_bytes());
        w.put(&[self.segment_log2]);
        w.put(&[0; RESERVED_LEN]);
        debug_assert_eq!(w.at, HEADER_LEN);
        w.bytes
    }

    /// Output bytes per alignment unit of the chunk framing.
    pub const fn chunk_align(&self) -> u64 {
        1u64 << self.chunk_align_log2
    }

    /// How the payload divides into authenticated segments.
    pub const fn segments(&self) -> Result<Segments, Error> {
        Segments::from_wire(self.segment_log2, self.payload_len)
    }
}

/// Reads fixed-width fields front to back from the header array. Offsets are compile-time
/// constants, so the reads cannot go out of bounds for a well-formed field list.
struct FieldReader<'a> {
    bytes: &'a [u8; HEADER_LEN],
    at: usize,
}

impl FieldReader<'_> {
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        out.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        out
    }
    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

struct FieldWriter {
    bytes: [u8; HEADER_LEN],
    at: usize,
}

impl FieldWriter {
    fn put(&mut self, field: &[u8]) {
        self.bytes[self.at..self.at + field.len()].copy_from_slice(field);
        self.at += field.len();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The decoder bits and names as the header table above and docs/bundle-format.md state
    /// them (they are derived from [`CodecId`]).
    #[test]
    fn decoder_bits_and_names_are_the_documented_ones() {
        assert_eq!(
            (
                Decoders::STORED,
                Decoders::FAST,
                Decoders::SMALLEST,
                Decoders::ALL
            ),
            (1, 2, 4, 7)
        );
        assert_eq!(
            Decoders::NAMES,
            [(1, "stored"), (2, "fast"), (4, "smallest")]
        );
        let names: Vec<_> = Decoders(Decoders::STORED | Decoders::SMALLEST)
            .names()
            .collect();
        assert_eq!(names, ["stored", "smallest"]);
    }

    pub(crate) fn sample() -> BundleHeader {
        BundleHeader {
            flags: Flags(Flags::LOSSLESS),
            decoders: Decoders(Decoders::STORED),
            coder_profile: 0,
            chunk_align_log2: 12,
            key_id: [1; 8],
            model_id: [2; 8],
            sku_id: [3; 8],
            from_version: ModelVersion::new(1, 0, 0),
            to_version: ModelVersion::new(1, 1, 0),
            security_counter: 2,
            base_len: 100,
            base_sha256: [4; 32],
            result_len: 120,
            result_sha256: [5; 32],
            payload_len: 130,
            payload_sha256: [6; 32],
            ram_required: 1024,
            error_bound_bits: 0,
            segment_log2: 9,
        }
    }

    #[test]
    fn round_trips() {
        let header = sample();
        assert_eq!(BundleHeader::parse(&header.to_bytes()), Ok(header));
    }

    #[test]
    fn lossy_headers_carry_a_positive_finite_bound() {
        let mut lossy = sample();
        lossy.flags = Flags(0);
        lossy.error_bound_bits = 1e-4f32.to_bits();
        assert_eq!(BundleHeader::parse(&lossy.to_bytes()), Ok(lossy.clone()));
        for bits in [
            0,
            (-1e-4f32).to_bits(),
            f32::INFINITY.to_bits(),
            f32::NAN.to_bits(),
        ] {
            lossy.error_bound_bits = bits;
            assert_eq!(
                BundleHeader::parse(&lossy.to_bytes()),
                Err(Error::BadErrorBound { bits })
            );
        }
        let mut lossless = sample();
        lossless.error_bound_bits = 1e-4f32.to_bits();
        assert_eq!(
            BundleHeader::parse(&lossless.to_bytes()),
            Err(Error::BadErrorBound {
                bits: 1e-4f32.to_bits()
            })
        );
    }

    #[test]
    fn rejects_structural_errors() {
        let good = sample().to_bytes();
        let mut bad = good;
        bad[0] = b'X';
        assert_eq!(BundleHeader::parse(&bad), Err(Error::BadMagic));
        let mut bad = good;
        bad[4] = 1;
        assert_eq!(
            BundleHeader::parse(&bad),
            Err(Error::UnsupportedFormatVersion { got: 1 })
        );
        let mut bad = good;
        bad[6] = 200;
        assert_eq!(
            BundleHeader::parse(&bad),
            Err(Error::BadHeaderLength { got: 200 })
        );
        let mut bad = good;
        bad[200] = 8;
        assert_eq!(
            BundleHeader::parse(&bad),
            Err(Error::BadSegmentSize { log2: 8 })
        );
        let mut bad = good;
        bad[207] = 1;
        assert_eq!(BundleHeader::parse(&bad), Err(Error::ReservedNotZero));
        let mut bad = good;
        // 512 + 32 + 513 plain bytes: the second segment would be longer than a segment.
        bad[152..160].copy_from_slice(&(512u64 + 32 + 513).to_le_bytes());
        assert_eq!(
            BundleHeader::parse(&bad),
            Err(Error::BadPayloadLength { wire_len: 1057 })
        );
        let mut bad = good;
        bad[8] |= 0x80;
        assert!(matches!(
            BundleHeader::parse(&bad),
            Err(Error::UnknownFlags { .. })
        ));
        let mut bad = good;
        bad[8] &= !1;
        assert_eq!(
            BundleHeader::parse(&bad),
            Err(Error::BadErrorBound { bits: 0 })
        );
        let mut bad = good;
        bad[12] = 0x10;
        assert!(matches!(
            BundleHeader::parse(&bad),
            Err(Error::UnknownDecoders { .. })
        ));
        let mut bad = good;
        bad[12..14].copy_from_slice(&(Decoders::STORED | Decoders::SMALLEST).to_le_bytes());
        bad[14] = 3;
        assert_eq!(BundleHeader::parse(&bad), Err(Error::UnknownCoderProfile));
        bad[12..14].copy_from_slice(&Decoders::STORED.to_le_bytes());
        assert!(
            BundleHeader::parse(&bad).is_ok(),
            "no smallest chunks: profile unused"
        );
        let mut bad = good;
        bad[15] = 5;
        assert_eq!(
            BundleHeader::parse(&bad),
            Err(Error::BadChunkAlignment { log2: 5 })
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), HEADER_LEN)) {
            let array: [u8; HEADER_LEN] = bytes.try_into().unwrap();
            if let Ok(header) = BundleHeader::parse(&array) {
                prop_assert_eq!(header.to_bytes(), array);
            }
        }
    }
}
