//! The build's self-check: applies a bundle it just built with the runtime's own payload
//! stream and compares every result byte with the result it was built from, holding no copy
//! of the result.
//!
//! A large payload is checked on every core. The runtime's [`ChunkStarts`] finds where its
//! chunks end without decoding them; the payload is cut at a few of those checkpoints into
//! stretches, and each thread resumes a stream at the start of one ([`PayloadStream::resume`],
//! the path a device takes after a power cut) and decodes it to where the next one starts.
//! Together the stretches decode every chunk once and authenticate every segment, each from
//! the link the previous stretch authenticated.

use mallorn_runtime::apply::{Checkpoint, ChunkStarts, PayloadStream};
use mallorn_runtime::format::BundleHeader;

use super::apply::{ApplyError, parts_for_base, work_buffer};
use super::expected_result::ExpectedResult;
use crate::parallel;

/// Results below this size are checked in one stretch: threads would cost more than they save.
const PARALLEL_FROM: u64 = 4 << 20;
/// Stretches per thread, so that a thread that finishes early takes another.
const STRETCHES_PER_THREAD: u64 = 2;

/// Applies `bundle` to `base` and compares every result byte with `expected`. `Ok(false)`
/// when a byte differs or the result ends early.
pub(crate) fn bundle_gives(
    bundle: &[u8],
    base: &[u8],
    expected: &[u8],
) -> Result<bool, ApplyError> {
    let (header, payload) = parts_for_base(bundle, base)?;
    let threads = parallel::default_threads();
    let stretches = stretches(&header, payload, threads as u64 * STRETCHES_PER_THREAD)?;
    let checked = parallel::run(&stretches, threads, |stretch| {
        stretch_gives(&header, payload, base, expected, stretch)
    })?;
    Ok(checked.into_iter().all(|gives| gives))
}

/// Part of a payload one thread checks.
#[derive(Debug)]
struct Stretch {
    /// Where it starts (`None`: the start of the payload).
    from: Option<Checkpoint>,
    /// Where the next stretch starts (`None`: this one runs to the end).
    until: Option<Checkpoint>,
}

/// Cuts the payload into about `count` stretches of similar result length, at chunk ends.
fn stretches(
    header: &BundleHeader,
    payload: &[u8],
    count: u64,
) -> Result<Vec<Stretch>, ApplyError> {
    let whole = || {
        vec![Stretch {
            from: None,
            until: None,
        }]
    };
    if count < 2 || header.result_len < PARALLEL_FROM {
        return Ok(whole());
    }
    let share = header.result_len / count;
    let mut cuts: Vec<Checkpoint> = Vec::new();
    let mut walk = ChunkStarts::new(header, payload)?;
    while let Some(end) = walk.next_chunk()? {
        let at = end.progress.output_offset;
        let next_cut = cuts.last().map_or(0, |c| c.progress.output_offset) + share;
        if at >= next_cut && at < header.result_len {
            cuts.push(end);
        }
    }
    let mut stretches = whole();
    for cut in cuts {
        if let Some(last) = stretches.last_mut() {
            last.until = Some(cut);
        }
        stretches.push(Stretch {
            from: Some(cut),
            until: None,
        });
    }
    Ok(stretches)
}

/// Decodes one stretch, comparing what it writes with `expected`.
fn stretch_gives(
    header: &BundleHeader,
    payload: &[u8],
    base: &[u8],
    expected: &[u8],
    stretch: &Stretch,
) -> Result<bool, ApplyError> {
    let mut work = work_buffer(header)?;
    let (mut stream, start) = match &stretch.from {
        None => (PayloadStream::new(header, &mut work)?, 0),
        Some(from) => (
            PayloadStream::resume(header, &mut work, from)?,
            from.progress.output_offset,
        ),
    };
    let mut image = ExpectedResult::starting_at(expected, start);
    let mut base_image: &[u8] = base;
    let wire_offset = usize::try_from(stream.wire_offset()).unwrap_or(usize::MAX);
    let mut rest = payload.get(wire_offset..).unwrap_or_default();
    loop {
        let fed = match stream.feed(rest, &mut base_image, &mut image) {
            Ok(fed) => fed,
            Err(_) if image.mismatch => return Ok(false),
            Err(error) => return Err(error.into()),
        };
        rest = &rest[fed.consumed..];
        match (fed.checkpoint, stretch.until) {
            // The decoder reports the very checkpoint the next stretch resumes from, or the
            // stretches do not meet and the check fails.
            (Some(end), Some(until))
                if end.progress.output_offset >= until.progress.output_offset =>
            {
                return Ok(end == until);
            }
            (Some(_), _) => {}
            (None, _) => break,
        }
    }
    stream.finish()?;
    Ok(stretch.until.is_none() && image.len() == expected.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleIdentity;
    use crate::delta::{DeltaCodec, EncodeOptions, ModelFormat, encode};

    /// A base and a result of `len` bytes that differ in scattered places.
    fn pair(len: usize) -> (Vec<u8>, Vec<u8>) {
        let base: Vec<u8> = (0..len).map(|i| ((i * 7919) >> 5) as u8).collect();
        let mut result = base.clone();
        for i in (0..len).step_by(997) {
            result[i] ^= 0x5a;
        }
        (base, result)
    }

    fn bundle(base: &[u8], result: &[u8]) -> Vec<u8> {
        let options = EncodeOptions {
            coder: DeltaCodec::Fast,
            format: ModelFormat::Raw,
            ..EncodeOptions::default()
        };
        let encoded = encode(Some(base), result, &options).unwrap();
        let identity = BundleIdentity::default();
        encoded
            .payload
            .unsigned_bundle(&identity, Some(base), result)
            .1
    }

    #[test]
    fn a_large_payload_is_checked_in_stretches_that_meet_end_to_end() {
        let (base, result) = pair(9 << 20);
        let bundle = bundle(&base, &result);
        let (header, payload) = parts_for_base(&bundle, &base).unwrap();
        let stretches = stretches(&header, payload, 4).unwrap();
        assert!(stretches.len() >= 3, "{stretches:?}");
        for pair in stretches.windows(2) {
            let until = pair[0].until.expect("an inner stretch ends");
            assert_eq!(pair[1].from, Some(until));
        }
        assert!(stretches.last().unwrap().until.is_none());
        assert!(bundle_gives(&bundle, &base, &result).unwrap());
    }

    #[test]
    fn a_differing_byte_in_any_stretch_fails_the_check() {
        let (base, result) = pair(9 << 20);
        let bundle = bundle(&base, &result);
        for at in [1000, result.len() / 2 + 77, result.len() - 5] {
            let mut other = result.clone();
            other[at] ^= 1;
            assert!(!bundle_gives(&bundle, &base, &other).unwrap(), "byte {at}");
        }
        assert!(!bundle_gives(&bundle, &base, &result[..result.len() - 1]).unwrap());
    }
}
