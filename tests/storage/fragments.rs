//! Fragmented ingestion: however the download is cut into fragments (1 byte up to the work
//! buffer), the device ends in the same state, byte for byte, journal included.

use std::sync::OnceLock;

use proptest::prelude::*;

use crate::common::{Rig, Source, WORK_LEN, drive_to_new, next_release, synthetic_model};

type Device = Rig<8, 1024, 1>;

fn rig() -> &'static (Device, Vec<u8>) {
    static RIG: OnceLock<(Device, Vec<u8>)> = OnceLock::new();
    RIG.get_or_init(|| {
        let old = synthetic_model(30_000, 7);
        let new = next_release(&old, 8);
        let rig = Rig::new(old, new);
        let mut flash = rig.start.clone();
        drive_to_new(&mut flash, &rig, Source::Download(&[usize::MAX])).unwrap();
        let reference = flash.bytes().to_vec();
        (rig, reference)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_fragment_sizes_give_the_same_device(
        sizes in proptest::collection::vec(
            prop_oneof![1usize..=16, 1usize..=WORK_LEN],
            1..40,
        )
    ) {
        let (rig, reference) = rig();
        let mut flash = rig.start.clone();
        drive_to_new(&mut flash, rig, Source::Download(&sizes)).unwrap();
        rig.assert_new_confirmed(&mut flash);
        prop_assert!(flash.bytes() == reference.as_slice());
    }
}
