//! Whole-payload check for a bundle that is already in memory or storage in one piece (a host
//! tool, or a device that downloads before it applies): exact length and every segment of the
//! hash chain. A device that applies while downloading gets the same checks segment by
//! segment from [`crate::apply::PayloadStream`].

use crate::error::Error;
use crate::format::header::BundleHeader;
use crate::format::segments::LINK_LEN;
use crate::hash::sha256;

/// Checks that `payload` is exactly the payload the (authenticated) header describes.
pub fn check_payload(header: &BundleHeader, payload: &[u8]) -> Result<(), Error> {
    let len = payload.len() as u64;
    if len > header.payload_len {
        return Err(Error::PayloadTooLong);
    }
    if len < header.payload_len {
        return Err(Error::PayloadTruncated);
    }
    let layout = header.segments()?;
    let mut expected = header.payload_sha256;
    for segment in 0..layout.count {
        let mismatch = Error::PayloadSegmentMismatch {
            segment,
            wire_offset: layout.wire_start(segment),
        };
        let start = usize::try_from(layout.wire_start(segment)).map_err(|_| mismatch)?;
        let wire_len = usize::try_from(layout.wire_len_of(segment)).map_err(|_| mismatch)?;
        let bytes = payload.get(start..start + wire_len).ok_or(mismatch)?;
        if sha256(bytes) != expected {
            return Err(mismatch);
        }
        if let Some(link) = bytes.len().checked_sub(LINK_LEN).map(|at| &bytes[at..]) {
            if segment + 1 < layout.count {
                expected.copy_from_slice(link);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::header::tests::sample;
    use crate::format::segments::{MIN_SEGMENT_LOG2, chain};

    /// A header for a payload of three segments, and the payload.
    fn bundle() -> (BundleHeader, Vec<u8>) {
        let plain: Vec<u8> = (0..1500u32).map(|i| (i * 7 % 251) as u8).collect();
        let (wire, head) = chain(&plain, MIN_SEGMENT_LOG2).unwrap();
        let header = BundleHeader {
            payload_len: wire.len() as u64,
            payload_sha256: head,
            segment_log2: MIN_SEGMENT_LOG2,
            ..sample()
        };
        (header, wire)
    }

    #[test]
    fn the_payload_must_have_the_length_in_the_header() {
        let (header, mut wire) = bundle();
        assert_eq!(check_payload(&header, &wire), Ok(()));
        assert_eq!(
            check_payload(&header, &wire[..wire.len() - 1]),
            Err(Error::PayloadTruncated)
        );
        wire.push(0);
        assert_eq!(check_payload(&header, &wire), Err(Error::PayloadTooLong));
    }

    #[test]
    fn every_segment_must_match_its_link() {
        let (header, wire) = bundle();
        for (at, segment) in [(0, 0), (543, 0), (544, 1), (wire.len() - 1, 2)] {
            let mut bad = wire.clone();
            bad[at] ^= 1;
            assert_eq!(
                check_payload(&header, &bad),
                Err(Error::PayloadSegmentMismatch {
                    segment,
                    wire_offset: segment * 544
                }),
                "byte {at}"
            );
        }
    }
}
