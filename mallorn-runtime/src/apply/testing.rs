//! Test support for the applier's checks: hand-made chunk streams wrapped in a header that
//! authenticates them (the hash chain is computed over whatever the test wrote, as if the
//! signing key had leaked), so that each check of the decoders is reached by the bytes meant
//! for it, and a run of such a stream over in-memory images.

use alloc::vec;
use alloc::vec::Vec;

use crate::apply::stream::PayloadStream;
use crate::apply::workspace::required_work_len;
use crate::error::Error;
use crate::format::chunk::{ChunkHeader, MAX_CHUNK_HEADER_LEN};
use crate::format::header::tests::sample;
use crate::format::segments::chain;
use crate::format::{BundleHeader, Decoders};
use crate::hash::sha256;
use crate::image::SliceResult;

/// Segment length of the test streams: the smallest, so short streams span segments.
pub(crate) const SEGMENT_LOG2: u8 = 9;
/// Chunk alignment of the test streams: the smallest (64 bytes).
pub(crate) const CHUNK_ALIGN_LOG2: u8 = 6;

/// One chunk: its framing, then `coded`.
pub(crate) fn chunk(output_len: u64, codec: u8, coded: &[u8]) -> Vec<u8> {
    chunk_declaring(output_len, coded.len() as u64, codec, coded)
}

/// Framing that declares `coded_len` coded bytes, followed by `coded` (which may differ).
pub(crate) fn chunk_declaring(output_len: u64, coded_len: u64, codec: u8, coded: &[u8]) -> Vec<u8> {
    let header = ChunkHeader {
        output_len,
        coded_len,
        codec,
    };
    let mut framing = [0; MAX_CHUNK_HEADER_LEN];
    let n = header.encode(&mut framing);
    let mut out = framing[..n].to_vec();
    out.extend_from_slice(coded);
    out
}

/// A bundle's header and wire payload for the plain chunk stream `plain`, built against
/// `base` for a result of `result_len` bytes. Every decoder is declared, the smallest one in
/// the `Tiny` profile, and the work RAM stated is what they need.
pub(crate) fn forged(plain: &[u8], base: &[u8], result_len: u64) -> (BundleHeader, Vec<u8>) {
    let (wire, head) = chain(plain, SEGMENT_LOG2).unwrap();
    let decoders = Decoders(Decoders::ALL);
    let header = BundleHeader {
        decoders,
        coder_profile: 0,
        chunk_align_log2: CHUNK_ALIGN_LOG2,
        base_len: base.len() as u64,
        base_sha256: sha256(base),
        result_len,
        result_sha256: [0; 32],
        payload_len: wire.len() as u64,
        payload_sha256: head,
        ram_required: required_work_len(decoders, 0, SEGMENT_LOG2) as u32,
        segment_log2: SEGMENT_LOG2,
        ..sample()
    };
    (header, wire)
}

/// Authenticates and decodes all of `wire` for `header` over `base`; returns the result.
pub(crate) fn run(header: &BundleHeader, wire: &[u8], base: &[u8]) -> Result<Vec<u8>, Error> {
    let mut work = vec![0u8; header.ram_required as usize];
    let mut stream = PayloadStream::new(header, &mut work)?;
    let mut out = vec![0u8; header.result_len as usize];
    let mut result = SliceResult::new(&mut out);
    let mut base: &[u8] = base;
    let mut rest = wire;
    loop {
        let fed = stream.feed(rest, &mut base, &mut result)?;
        rest = &rest[fed.consumed..];
        if fed.checkpoint.is_none() {
            break;
        }
    }
    stream.finish()?;
    Ok(out)
}

/// [`run`] on the stream `plain`, forged for `base` and a result of `result_len` bytes.
pub(crate) fn apply(plain: &[u8], base: &[u8], result_len: u64) -> Result<Vec<u8>, Error> {
    let (header, wire) = forged(plain, base, result_len);
    run(&header, &wire, base)
}

/// The `CorruptPayload` reason of `result`, panicking on anything else.
pub(crate) fn corrupt_reason<T: core::fmt::Debug>(result: Result<T, Error>) -> &'static str {
    match result {
        Err(Error::CorruptPayload { reason, .. }) => reason,
        other => panic!("expected CorruptPayload, got {other:?}"),
    }
}
