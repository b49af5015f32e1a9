//! Fuzzes the payload decoder (chunk framing, stored, fast and smallest codecs, every
//! profile): arbitrary chunk-stream bytes against a fixed base, fed in fragments. The
//! stream is wrapped in a genuine segment chain (as if the signing key had leaked), so the
//! authenticator lets every byte through to the decoders. It must never panic, never write
//! outside the result and never read outside the base.

use mallorn_runtime::apply::{PayloadStream, required_work_len};
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
    let mut work = vec![0u8; header.ram_required as usize];
    let Ok(mut decoder) = PayloadStream::new(&header, &mut work) else {
        return;
    };
    let mut out = vec![0u8; result_len as usize];
    let mut sink = SliceResult::new(&mut out);
    let mut base_image: &[u8] = &base;
    let fragment = 1 + usize::from(control & 0x7f);
    for piece in wire.chunks(fragment) {
        let mut rest = piece;
        loop {
            match decoder.feed(rest, &mut base_image, &mut sink) {
                Ok(fed) => {
                    rest = &rest[fed.consumed..];
                    if fed.checkpoint.is_none() {
                        break;
                    }
                }
                Err(_) => return,
            }
        }
    }
    let _ = decoder.finish();
}
