//! The update lifecycle on a simulated device: pending -> trial -> confirm, revert of an
//! unconfirmed trial, the security counter committed only at confirm, alternating slots,
//! restarts with another bundle, and the checks that run before anything is written.

use std::sync::OnceLock;

use mallorn_runtime::Error;
use mallorn_runtime::format::Flags;
use mallorn_runtime::hash::sha256;
use mallorn_runtime::sim::{Fault, FlashOp, Persistence, SimFlash};
use mallorn_runtime::storage::{
    BootKind, FlashLayout, LayoutError, Phase, Region, Slot, SlotImage, Updater,
};

use crate::common::{
    Model, POLICY, PROVISIONED_COUNTER, ParseOnlyAdmission, Rig, Source, WORK_LEN, build_bundle,
    drive_to_new, newest_records, next_release, split, synthetic_model,
};

type Flash = SimFlash<8, 1024, 1>;
type Device = Rig<8, 1024, 1>;

/// The device every test starts from (encoded once, cloned per test).
fn device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let old = synthetic_model(20_000, 11);
            let new = next_release(&old, 12);
            Rig::new(old, new)
        })
        .clone()
}

/// Applies `bundle` in one session over a freshly opened updater; returns the session's
/// starting payload offset.
fn apply(flash: &mut Flash, layout: FlashLayout, bundle: &[u8]) -> Result<u64, Error> {
    let (header, signature, payload) = split(bundle);
    let mut up = Updater::open(&mut *flash, layout)?;
    let mut work = vec![0; WORK_LEN];
    let mut session = up.begin(
        &mut ParseOnlyAdmission::default(),
        header,
        signature,
        &mut work,
    )?;
    let from = session.payload_offset();
    session.feed(&payload[from as usize..])?;
    session.finish()?;
    Ok(from)
}

/// A reset: whatever the firmware held in RAM is gone; the flash stays.
fn reset<T>(_ram: T) {}

fn mutations_touching(log: &[FlashOp], region: Region) -> usize {
    log.iter()
        .filter(|op| {
            let r = op.range();
            r.start < region.end() && r.end > u64::from(region.offset)
        })
        .count()
}

#[test]
fn pending_then_trial_then_confirm_commits_slot_and_counter() {
    let rig = device();
    let mut flash = rig.start.clone();
    assert_eq!(apply(&mut flash, rig.layout, &rig.bundle), Ok(0));

    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    assert!(matches!(up.state().phase, Phase::Pending(_)));
    assert_eq!(up.state().committed_counter, PROVISIONED_COUNTER);
    // Nothing to confirm before the new model has booted.
    assert_eq!(up.confirm(), Err(Error::NotInTrial));
    let boot = up.boot(POLICY).unwrap();
    assert_eq!((boot.kind, boot.slot), (BootKind::Trial, Slot::B));
    assert_eq!(rig.loaded(up.flash().bytes(), &boot), Model::New);
    // A second call in the same power cycle changes nothing.
    assert_eq!(up.boot(POLICY).unwrap(), boot);
    assert!(matches!(up.state().phase, Phase::Trial { .. }));
    assert_eq!(up.state().committed_counter, PROVISIONED_COUNTER);
    up.confirm().unwrap();
    assert_eq!(up.state().committed_counter, PROVISIONED_COUNTER + 1);
    assert_eq!(up.state().active, Slot::B);
    // Confirming again is harmless.
    up.confirm().unwrap();
    rig.assert_new_confirmed(&mut flash);
}

#[test]
fn an_unconfirmed_trial_reverts_at_the_next_boot() {
    let rig = device();
    let mut flash = rig.start.clone();
    apply(&mut flash, rig.layout, &rig.bundle).unwrap();
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    assert_eq!(up.boot(POLICY).unwrap().kind, BootKind::Trial);
    reset(up); // before confirm

    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let boot = up.boot(POLICY).unwrap();
    assert_eq!((boot.kind, boot.slot), (BootKind::Reverted, Slot::A));
    assert_eq!(rig.loaded(up.flash().bytes(), &boot), Model::Old);
    assert_eq!(up.state().phase, Phase::Idle);
    assert_eq!(up.state().committed_counter, PROVISIONED_COUNTER);
    assert_eq!(up.confirm(), Ok(()), "idle: nothing to confirm");
    reset(up);
    // And it stays reverted.
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    assert_eq!(up.boot(POLICY).unwrap().kind, BootKind::Confirmed);
    assert_eq!(up.state().active, Slot::A);
}

/// A confirmed update stays confirmed, and its counter committed, when the record of the
/// confirmation no longer reads or loses a bit: the journal writes every transition
/// twice. (Found by an audit: the device went back to the old model and the old counter,
/// for good, and took the confirmed bundle again.)
#[test]
fn a_confirm_survives_a_lost_record() {
    for read_error in [false, true] {
        let rig = device();
        let mut flash = rig.start.clone();
        apply(&mut flash, rig.layout, &rig.bundle).unwrap();
        let mut up = Updater::open(&mut flash, rig.layout).unwrap();
        assert_eq!(up.boot(POLICY).unwrap().kind, BootKind::Trial);
        up.confirm().unwrap();
        reset(up);

        let lost = newest_records(&flash, rig.layout.state, 1)[0] + 100;
        if read_error {
            flash.inject(Fault::ReadError {
                addr: lost,
                persistence: Persistence::Always,
            });
        } else {
            flash.flip_bits(lost, 0x10);
        }
        flash.reboot();
        let mut up = Updater::open(&mut flash, rig.layout).unwrap();
        let boot = up.boot(POLICY).unwrap();
        assert_eq!((boot.kind, boot.slot), (BootKind::Confirmed, Slot::B));
        assert_eq!(up.state().committed_counter, PROVISIONED_COUNTER + 1);
        reset(up);
        rig.assert_new_confirmed(&mut flash);
    }
}

#[test]
fn confirm_needs_a_trial_booted_in_this_power_cycle() {
    let rig = device();
    let mut flash = rig.start.clone();
    apply(&mut flash, rig.layout, &rig.bundle).unwrap();
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    up.boot(POLICY).unwrap();
    reset(up);
    // The journal says trial, but this power cycle has not booted it.
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    assert!(matches!(up.state().phase, Phase::Trial { .. }));
    assert_eq!(up.confirm(), Err(Error::NotInTrial));
}

#[test]
fn a_trial_blocks_the_next_update_and_cancel_rejects_it() {
    let rig = device();
    let mut flash = rig.start.clone();
    apply(&mut flash, rig.layout, &rig.bundle).unwrap();
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    up.boot(POLICY).unwrap();
    let (header, signature, _) = split(&rig.bundle);
    let mut work = vec![0; WORK_LEN];
    let mut refused_during_trial = |up: &mut Updater<&mut Flash>| {
        let before = up.flash().counts().mutations();
        let refused = up.begin(
            &mut ParseOnlyAdmission::default(),
            header,
            signature,
            &mut work,
        );
        assert_eq!(refused.err(), Some(Error::UpdateDuringTrial));
        assert_eq!(up.flash().counts().mutations(), before);
    };
    refused_during_trial(&mut up);
    up.cancel().unwrap();
    // Cancelled, but the firmware still runs the model it loaded from slot B in this power
    // cycle (in place, on many parts): slot B is not written before a reset.
    refused_during_trial(&mut up);
    reset(up);
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let boot = up.boot(POLICY).unwrap();
    assert_eq!((boot.kind, boot.slot), (BootKind::Confirmed, Slot::A));
}

#[test]
fn each_update_writes_only_the_other_slot_and_they_alternate() {
    let rig = device();
    // Same length as v2, so that it fits slot A (sized for the larger of v1 and v2).
    let mut v3 = next_release(&rig.new, 13);
    v3.truncate(rig.new.len());
    let mut flash = rig.start.clone();
    flash.record();
    drive_to_new(&mut flash, &rig, Source::Download(&[4096])).unwrap();
    let first = flash.take_log();
    assert_eq!(mutations_touching(&first, rig.layout.slot_a), 0);
    assert!(mutations_touching(&first, rig.layout.slot_b) > 0);

    // v2 (slot B, confirmed) -> v3 goes into slot A and never touches slot B.
    let bundle = build_bundle(&rig.new, &v3, 10, PROVISIONED_COUNTER + 2);
    flash.record();
    apply(&mut flash, rig.layout, &bundle).unwrap();
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let boot = up.boot(POLICY).unwrap();
    assert_eq!((boot.kind, boot.slot), (BootKind::Trial, Slot::A));
    up.confirm().unwrap();
    let second = up.flash().take_log();
    assert_eq!(mutations_touching(&second, rig.layout.slot_b), 0);
    assert!(mutations_touching(&second, rig.layout.slot_a) > 0);
    let state = *up.state();
    assert_eq!(state.active, Slot::A);
    assert_eq!(state.committed_counter, PROVISIONED_COUNTER + 2);
    assert_eq!(state.active_image.sha256, sha256(&v3));
    assert_eq!(&up.flash().bytes()[..v3.len()], v3.as_slice());
}

#[test]
fn the_same_bundle_resumes_and_another_bundle_restarts_cleanly() {
    let rig = device();
    let other = next_release(&rig.old, 99);
    let other_bundle = build_bundle(&rig.old, &other, 10, PROVISIONED_COUNTER + 1);
    let mut flash = rig.start.clone();
    let (header, signature, payload) = split(&rig.bundle);

    // Apply half of the first bundle, then "reset".
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let mut work = vec![0; WORK_LEN];
    let mut session = up
        .begin(
            &mut ParseOnlyAdmission::default(),
            header,
            signature,
            &mut work,
        )
        .unwrap();
    session.feed(&payload[..payload.len() / 2]).unwrap();
    reset(session);
    reset(up);

    let up = Updater::open(&mut flash, rig.layout).unwrap();
    let point = up.resume_point().unwrap();
    assert!(point.payload_offset > 0 && point.payload_offset <= payload.len() as u64 / 2);
    reset(up);
    // The same bundle picks up at the last checkpoint.
    let mut probe = flash.clone();
    assert_eq!(
        apply(&mut probe, rig.layout, &rig.bundle),
        Ok(point.payload_offset)
    );

    // Another bundle starts from the beginning, base checked again, and ends exactly right.
    let (h2, s2, p2) = split(&other_bundle);
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let mut admission = ParseOnlyAdmission::default();
    let mut session = up.begin(&mut admission, h2, s2, &mut work).unwrap();
    assert!(!session.is_resumed());
    assert_eq!(session.payload_offset(), 0);
    session.feed(p2).unwrap();
    let finished = session.finish().unwrap();
    assert_eq!(finished.slot, Slot::B);
    assert_eq!(admission.base_checks, 1);
    let boot = up.boot(POLICY).unwrap();
    assert_eq!(boot.kind, BootKind::Trial);
    let start = boot.region.offset as usize;
    assert_eq!(
        &up.flash().bytes()[start..start + other.len()],
        other.as_slice()
    );
}

#[test]
fn a_corrupted_segment_is_refused_where_it_arrives_and_the_genuine_bytes_continue() {
    let rig = device();
    let mut flash = rig.start.clone();
    let (header, signature, payload) = split(&rig.bundle);
    let mut corrupt = payload.to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x55;
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let mut work = vec![0; WORK_LEN];
    let mut admission = ParseOnlyAdmission::default();
    let mut session = up
        .begin(&mut admission, header, signature, &mut work)
        .unwrap();
    let err = session.feed(&corrupt).unwrap_err();
    let Error::PayloadSegmentMismatch { wire_offset, .. } = err else {
        panic!("{err:?}");
    };
    // Everything before the damaged segment was applied; the session goes on from there.
    assert_eq!(session.payload_offset(), wire_offset);
    assert!(wire_offset > 0);
    session.feed(&payload[wire_offset as usize..]).unwrap();
    session.finish().unwrap();
    assert!(matches!(up.state().phase, Phase::Pending(_)));
}

#[test]
fn refusals_happen_before_anything_is_written() {
    let rig = device();
    let mut flash = rig.start.clone();
    let (header, signature, _) = split(&rig.bundle);
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let before = up.flash().counts().mutations();

    let mut small = vec![0; 300];
    let refused = up.begin(
        &mut ParseOnlyAdmission::default(),
        header,
        signature,
        &mut small,
    );
    assert!(matches!(
        refused.err(),
        Some(Error::WorkBufferTooSmall { .. })
    ));

    let wrong_base = build_bundle(&rig.new, &rig.old, 10, 5);
    let (h, s, _) = split(&wrong_base);
    let mut work = vec![0; WORK_LEN];
    let refused = up.begin(&mut ParseOnlyAdmission::default(), h, s, &mut work);
    assert_eq!(refused.err(), Some(Error::BaseNotActiveImage));

    // Chunks of 512 bytes cannot resume on 1 KiB erase blocks.
    let fine_chunks = build_bundle(&rig.old, &rig.new, 9, 5);
    let (h, s, _) = split(&fine_chunks);
    let refused = up.begin(&mut ParseOnlyAdmission::default(), h, s, &mut work);
    assert!(matches!(
        refused.err(),
        Some(Error::ChunkAlignBelowEraseSize { .. })
    ));

    let too_big = synthetic_model(rig.layout.slot_b.len as usize + 1, 3);
    let huge = build_bundle(&rig.old, &too_big, 10, 5);
    let (h, s, _) = split(&huge);
    let refused = up.begin(&mut ParseOnlyAdmission::default(), h, s, &mut work);
    assert!(matches!(refused.err(), Some(Error::SlotTooSmall { .. })));

    assert_eq!(up.flash().counts().mutations(), before);
    assert_eq!(up.state().phase, Phase::Idle);
}

#[test]
fn admission_sees_the_committed_counter() {
    let rig = device();
    let mut flash = rig.start.clone();
    let (header, signature, _) = split(&rig.bundle);
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let mut admission = ParseOnlyAdmission::default();
    let mut work = vec![0; WORK_LEN];
    drop(
        up.begin(&mut admission, header, signature, &mut work)
            .unwrap(),
    );
    assert_eq!(admission.committed_seen, vec![PROVISIONED_COUNTER]);
    assert_eq!(admission.base_checks, 1);
}

#[test]
fn admission_apart_from_begin_writes_nothing_and_does_not_outlive_a_commit() {
    let rig = device();
    let mut flash = rig.start.clone();
    let (header, signature, payload) = split(&rig.bundle);
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let mut admission = ParseOnlyAdmission::default();
    let before = up.flash().counts().mutations();
    let admitted = up.admit(&mut admission, header, signature).unwrap();
    assert_eq!(up.flash().counts().mutations(), before);
    assert_eq!(admission.base_checks, 0);
    assert_eq!(admitted.header().security_counter, PROVISIONED_COUNTER + 1);

    let mut work = vec![0; WORK_LEN];
    let mut session = up
        .begin_admitted(&mut admission, &admitted, &mut work)
        .unwrap();
    session.feed(payload).unwrap();
    session.finish().unwrap();
    assert_eq!(admission.base_checks, 1);
    assert_eq!(up.boot(POLICY).unwrap().kind, BootKind::Trial);
    up.confirm().unwrap();
    // The device has confirmed the new model and committed its counter: the admission taken
    // before that no longer starts anything.
    let before = up.flash().counts().mutations();
    assert_eq!(
        up.begin_admitted(&mut admission, &admitted, &mut work)
            .err(),
        Some(Error::StaleAdmission)
    );
    assert_eq!(up.flash().counts().mutations(), before);
}

#[test]
fn a_full_image_bundle_needs_no_base() {
    let rig = device();
    let mut payload = mallorn_engine::bundle::PayloadBuilder::new(10);
    payload.push_stored(&rig.new);
    let identity = mallorn_engine::bundle::BundleIdentity::default();
    let (header, bundle) = payload.unsigned_bundle(&identity, None, &rig.new);
    assert!(header.flags.contains(Flags::FULL_IMAGE));
    let mut flash = rig.start.clone();
    let (h, s, p) = split(&bundle);
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let mut admission = ParseOnlyAdmission::default();
    let mut work = vec![0; WORK_LEN];
    let mut session = up.begin(&mut admission, h, s, &mut work).unwrap();
    session.feed(p).unwrap();
    session.finish().unwrap();
    assert_eq!(admission.base_checks, 0);
    assert_eq!(up.boot(POLICY).unwrap().kind, BootKind::Trial);
}

#[test]
fn open_reports_layout_mistakes_and_unprovisioned_devices() {
    let mut flash = Flash::new(64 * 1024);
    let layout = FlashLayout::new(
        Region::new(0, 16 * 1024),
        Region::new(16 * 1024, 16 * 1024),
        Region::new(32 * 1024, 2 * 1024),
    );
    assert_eq!(
        Updater::open(&mut flash, layout).err(),
        Some(Error::JournalBlank)
    );
    let overlapping = FlashLayout::new(layout.slot_a, layout.slot_a, layout.state);
    assert!(matches!(
        Updater::open(&mut flash, overlapping).err(),
        Some(Error::Layout(LayoutError::Overlap { .. }))
    ));
    let image = SlotImage {
        len: 16 * 1024 + 1,
        sha256: [0; 32],
    };
    assert!(matches!(
        Updater::provision(&mut flash, layout, Slot::A, image, 0).err(),
        Some(Error::SlotTooSmall { .. })
    ));
}
