//! Fuzzes the payload decoder (chunk framing, stored, fast and smallest codecs, every
//! profile): arbitrary chunk-stream bytes against a fixed base, fed in fragments. The
//! stream is wrapped in a genuine segment chain (as if the signing key had leaked), so the
//! authenticator lets every byte through to the decoders. It must never panic, never write
//! outside the result and never read outside the base. The checkpoints the decoder reports
//! must be the ones [`ChunkStarts`] finds from the framing alone, and a stream resumed at any
//! of those must not panic either.

use mallorn_runtime::apply::{Checkpoint, ChunkStarts, PayloadStream, required_work_len};
use mallorn_runtime::format::segments::{MIN_SEGMENT_LOG2, chain};
use mallorn_runtime::format::{BundleHeader, Decoders, Flags, ModelVersion};
use mallorn_runtime::image::SliceResult;

/// One run of the payload target on `data`: a control byte, then the chunk-stream bytes.
pub fn payload(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let profile = control % 3;
    let result_len = 64 + u64::from(control >> 2) * 37;
    let base: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
    let decoders = Decoders(Decoders::ALL);
    let Ok((wire, head)) = chain(stream, MIN_SEGMENT_LOG2) else {
        return;
    };
    let header = BundleHeader {
        flags: Flags(Flags::LOSSLESS | Flags::UNSIGNED),
        decoders,
        coder_profile: profile,
        chunk_align_log2: 6,
        key_id: [0; 8],
        model_id: [0; 8],
        sku_id: [0; 8],
        from_version: ModelVersion::default(),
        to_version: ModelVersion::default(),
        security_counter: 1,
        base_len: base.len() as u64,
        base_sha256: [0; 32],
        result_len,
        result_sha256: [0; 32],
        payload_len: wire.len() as u64,
        payload_sha256: head,
        ram_required: required_work_len(decoders, profile, MIN_SEGMENT_LOG2) as u32,
        error_bound_bits: 0,
        segment_log2: MIN_SEGMENT_LOG2,
    };
    let found = chunk_starts(&header, &wire);
    let reported = decode(&header, &wire, &base, None, usize::from(control & 0x7f));
    assert_eq!(
        reported[..],
        found[..reported.len().min(found.len())],
        "the decoder and the framing walk disagree on a checkpoint"
    );
    for from in found.iter().take(4) {
        decode(
            &header,
            &wire,
            &base,
            Some(from),
            usize::from(control & 0x7f),
        );
    }
}

/// The checkpoints the framing walk finds before its first error (at most 64).
fn chunk_starts(header: &BundleHeader, wire: &[u8]) -> Vec<Checkpoint> {
    let mut found = Vec::new();
    if let Ok(mut walk) = ChunkStarts::new(header, wire) {
        while let Ok(Some(end)) = walk.next_chunk() {
            found.push(end);
            if found.len() == 64 {
                break;
            }
        }
    }
    found
}

/// Decodes `wire` in fragments of `fragment + 1` bytes from the start or from `from`;
/// returns the checkpoints reported before the first error (at most 64).
fn decode(
    header: &BundleHeader,
    wire: &[u8],
    base: &[u8],
    from: Option<&Checkpoint>,
    fragment: usize,
) -> Vec<Checkpoint> {
    let mut reported = Vec::new();
    let mut work = vec![0u8; header.ram_required as usize];
    let stream = match from {
        None => PayloadStream::new(header, &mut work),
        Some(from) => PayloadStream::resume(header, &mut work, from),
    };
    let Ok(mut decoder) = stream else {
        return reported;
    };
    let mut out = vec![0u8; header.result_len as usize];
    let mut sink = SliceResult::new(&mut out);
    let mut base_image: &[u8] = base;
    let start = usize::try_from(decoder.wire_offset()).unwrap_or(usize::MAX);
    for piece in wire.get(start..).unwrap_or_default().chunks(fragment + 1) {
        let mut rest = piece;
        loop {
            match decoder.feed(rest, &mut base_image, &mut sink) {
                Ok(fed) => {
                    rest = &rest[fed.consumed..];
                    match fed.checkpoint {
                        Some(end) if reported.len() < 64 => reported.push(end),
                        Some(_) => {}
                        None => break,
                    }
                }
                Err(_) => return reported,
            }
        }
    }
    let _ = decoder.finish();
    reported
}
