//! Stored-chunk bundles decode through the runtime in any fragmentation, and corrupt ones are
//! refused.

use mallorn_engine::bundle::{BundleIdentity, PayloadBuilder, apply_bundle};
use mallorn_runtime::apply::PayloadStream;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::image::SliceResult;
use proptest::prelude::*;

fn build(target: &[u8]) -> Vec<u8> {
    let mut payload = PayloadBuilder::new(6);
    payload.push_stored(target);
    payload
        .unsigned_bundle(&BundleIdentity::default(), None, target)
        .1
}

proptest! {
    #[test]
    fn fragmented_feeding_gives_the_same_result(
        target in proptest::collection::vec(any::<u8>(), 0..2000),
        cuts in proptest::collection::vec(1usize..300, 1..40),
    ) {
        let bundle = build(&target);
        prop_assert_eq!(apply_bundle(&bundle, &[]).unwrap(), target.clone());

        let header = BundleHeader::parse(bundle[..HEADER_LEN].try_into().unwrap()).unwrap();
        let mut work = vec![0; header.ram_required as usize];
        let mut decoder = PayloadStream::new(&header, &mut work).unwrap();
        let mut out = vec![0; target.len()];
        let mut sink = SliceResult::new(&mut out);
        let mut base: &[u8] = &[];
        let mut rest = &bundle[SIGNED_BUNDLE_PREFIX..];
        let mut i = 0;
        while !rest.is_empty() {
            let take = cuts[i % cuts.len()].min(rest.len());
            i += 1;
            let mut fragment = &rest[..take];
            loop {
                let fed = decoder.feed(fragment, &mut base, &mut sink).unwrap();
                fragment = &fragment[fed.consumed..];
                if fed.checkpoint.is_none() {
                    break;
                }
            }
            rest = &rest[take..];
        }
        decoder.finish().unwrap();
        prop_assert_eq!(out, target);
    }

    #[test]
    fn flipped_payload_bits_are_refused(target in proptest::collection::vec(any::<u8>(), 1..500), at: prop::sample::Index, bit in 0u8..8) {
        let mut bundle = build(&target);
        let i = SIGNED_BUNDLE_PREFIX + at.index(bundle.len() - SIGNED_BUNDLE_PREFIX);
        bundle[i] ^= 1 << bit;
        prop_assert!(apply_bundle(&bundle, &[]).is_err());
    }
}
