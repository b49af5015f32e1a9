//! Writes the bundle wire format defined in `mallorn_runtime::format`: chunk framing for a
//! payload, then the header that binds base, result and payload.

use mallorn_runtime::apply::required_work_len;
use mallorn_runtime::codec::CodecId;
use mallorn_runtime::format::chunk::{ChunkHeader, MAX_CHUNK_HEADER_LEN};
use mallorn_runtime::format::segments::{PREFERRED_SEGMENT_LOG2, chain};
use mallorn_runtime::format::{BundleHeader, Decoders, Flags, ModelVersion};
use mallorn_runtime::hash::sha256;

/// Who a bundle is for: fields of the header that do not come from the bytes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BundleIdentity {
    /// Model id (see `ids::model_id`).
    pub model_id: [u8; 8],
    /// Device SKU id (see `ids::sku_id`).
    pub sku_id: [u8; 8],
    /// Release of the base.
    pub from_version: ModelVersion,
    /// Release of the result.
    pub to_version: ModelVersion,
    /// Anti-rollback counter of the result's release.
    pub security_counter: u64,
    /// `None` when the result is the release file itself; for a lossy release's shipped
    /// image, the largest absolute error of its weights against the release file (positive,
    /// finite), which the header carries with the lossless flag cleared.
    pub error_bound: Option<f32>,
}

impl BundleIdentity {
    /// The fields in header order and encoding, for cache keys.
    pub fn key_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 + 8 + 12 + 12 + 8);
        bytes.extend_from_slice(&self.model_id);
        bytes.extend_from_slice(&self.sku_id);
        bytes.extend_from_slice(&self.from_version.to_le_bytes());
        bytes.extend_from_slice(&self.to_version.to_le_bytes());
        bytes.extend_from_slice(&self.security_counter.to_le_bytes());
        if let Some(bound) = self.error_bound {
            bytes.extend_from_slice(&bound.to_bits().to_le_bytes());
        }
        bytes
    }
}

/// Accumulates chunks into a payload: the plain chunk stream, cut into authenticated
/// segments when the bundle is laid out.
#[derive(Debug, Clone)]
pub struct PayloadBuilder {
    bytes: Vec<u8>,
    decoders: u16,
    coder_profile: u8,
    chunk_align_log2: u8,
    segment_log2: u8,
    output_len: u64,
}

impl PayloadBuilder {
    /// Starts an empty payload whose chunks (all but the last) produce multiples of
    /// `1 << chunk_align_log2` bytes, in segments of the preferred length.
    pub fn new(chunk_align_log2: u8) -> Self {
        Self {
            bytes: Vec::new(),
            decoders: 0,
            coder_profile: 0,
            chunk_align_log2,
            segment_log2: PREFERRED_SEGMENT_LOG2,
            output_len: 0,
        }
    }

    /// The same payload in authenticated segments of `1 << segment_log2` bytes.
    pub fn with_segment_log2(mut self, segment_log2: u8) -> Self {
        self.segment_log2 = segment_log2;
        self
    }

    /// Appends a chunk that decodes to `output_len` bytes.
    pub fn push_chunk(&mut self, codec: CodecId, output_len: u64, coded: &[u8]) {
        assert!(
            self.output_len % (1u64 << self.chunk_align_log2) == 0,
            "only the last chunk may end off the chunk alignment"
        );
        let header = ChunkHeader {
            output_len,
            coded_len: coded.len() as u64,
            codec: codec as u8,
        };
        let mut framing = [0; MAX_CHUNK_HEADER_LEN];
        let n = header.encode(&mut framing);
        self.bytes.extend_from_slice(&framing[..n]);
        self.bytes.extend_from_slice(coded);
        self.decoders |= codec.decoder_bit();
        self.output_len += output_len;
    }

    /// Appends `data` as stored chunks of at most the chunk alignment each.
    pub fn push_stored(&mut self, data: &[u8]) {
        for piece in data.chunks(1usize << self.chunk_align_log2) {
            self.push_chunk(CodecId::Stored, piece.len() as u64, piece);
        }
    }

    /// Records the model-size profile of the smallest decoder.
    pub fn set_coder_profile(&mut self, profile: u8) {
        self.coder_profile = profile;
    }

    /// Output bytes the chunks so far produce.
    pub fn output_len(&self) -> u64 {
        self.output_len
    }

    /// The plain chunk stream (before it is cut into authenticated segments).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Lays out the unsigned bundle turning `base` into `result`: the header, a zero
    /// signature and the payload's segment chain. Key id and signature are filled by the
    /// signer.
    ///
    /// # Panics
    /// If the chunks do not produce `result`'s length, or the segment length is outside the
    /// runtime's bounds (both bugs of the caller).
    pub fn unsigned_bundle(
        &self,
        identity: &BundleIdentity,
        base: Option<&[u8]>,
        result: &[u8],
    ) -> (BundleHeader, Vec<u8>) {
        let (wire, head) =
            chain(&self.bytes, self.segment_log2).expect("segment length within the bounds");
        let header = self.header(identity, base, result, wire.len() as u64, head);
        (header.clone(), assemble_unsigned(&header, &wire))
    }

    fn header(
        &self,
        identity: &BundleIdentity,
        base: Option<&[u8]>,
        result: &[u8],
        payload_len: u64,
        payload_sha256: [u8; 32],
    ) -> BundleHeader {
        assert_eq!(
            self.output_len,
            result.len() as u64,
            "payload does not produce the result"
        );
        let mut flags = Flags::UNSIGNED;
        if identity.error_bound.is_none() {
            flags |= Flags::LOSSLESS;
        }
        if base.is_none() {
            flags |= Flags::FULL_IMAGE;
        }
        let decoders = Decoders(self.decoders);
        BundleHeader {
            flags: Flags(flags),
            decoders,
            coder_profile: self.coder_profile,
            chunk_align_log2: self.chunk_align_log2,
            key_id: [0; 8],
            model_id: identity.model_id,
            sku_id: identity.sku_id,
            from_version: identity.from_version,
            to_version: identity.to_version,
            security_counter: identity.security_counter,
            base_len: base.map_or(0, |b| b.len() as u64),
            base_sha256: base.map_or([0; 32], sha256),
            result_len: result.len() as u64,
            result_sha256: sha256(result),
            payload_len,
            payload_sha256,
            ram_required: required_work_len(decoders, self.coder_profile, self.segment_log2) as u32,
            error_bound_bits: identity.error_bound.map_or(0, f32::to_bits),
            segment_log2: self.segment_log2,
        }
    }
}

/// Lays out an unsigned bundle: header, a zero signature, wire payload.
pub(crate) fn assemble_unsigned(header: &BundleHeader, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(mallorn_runtime::format::SIGNED_BUNDLE_PREFIX + payload.len());
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(&[0; mallorn_runtime::format::SIGNATURE_LEN]);
    out.extend_from_slice(payload);
    out
}
