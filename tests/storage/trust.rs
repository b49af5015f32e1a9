//! The runtime's guarantees against an attacker on the link and against faulty flash, each
//! defect of the device-trust review reproduced: a forged payload cannot wedge the genuine
//! update, no unauthenticated byte reaches the decoder or flash, the result is checked on
//! flash, a journal number is never reused, an unreadable journal slot does not stop the
//! device, and trials, counters and pending updates behave.

use std::sync::OnceLock;

use mallorn_engine::bundle::{BundleIdentity, PayloadBuilder};
use mallorn_runtime::Error;
use mallorn_runtime::format::BundleHeader;
use mallorn_runtime::format::chunk::{ChunkHeader, MAX_CHUNK_HEADER_LEN};
use mallorn_runtime::format::segments::chain;
use mallorn_runtime::sim::{Fault, FlashOp, Persistence, SimFlash};
use mallorn_runtime::storage::{BootKind, BootPolicy, FlashLayout, Phase, Region, Slot, Updater};

use crate::common::{
    Model, POLICY, PROVISIONED_COUNTER, ParseOnlyAdmission, Rig, WORK_LEN, build_bundle,
    newest_records, next_release, split, synthetic_model,
};

type Flash = SimFlash<8, 1024, 1>;
type Device = Rig<8, 1024, 1>;

fn device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let old = synthetic_model(20_000, 21);
            let new = next_release(&old, 22);
            Rig::new(old, new)
        })
        .clone()
}

/// Flash operations among `log` that touch `region`.
fn touching(log: &[FlashOp], region: Region) -> usize {
    log.iter()
        .filter(|op| {
            let r = op.range();
            r.start < region.end() && r.end > u64::from(region.offset)
        })
        .count()
}

/// Begins `bundle` on a freshly opened updater, feeds `payload` from the session's offset and
/// finishes.
fn feed(
    flash: &mut Flash,
    layout: FlashLayout,
    bundle: &[u8],
    payload: &[u8],
) -> Result<(), Error> {
    let (header, signature, _) = split(bundle);
    let mut up = Updater::open(&mut *flash, layout)?;
    let mut work = vec![0; WORK_LEN];
    let mut admission = ParseOnlyAdmission::default();
    let mut session = up.begin(&mut admission, header, signature, &mut work)?;
    let from = session.payload_offset() as usize;
    session.feed(&payload[from.min(payload.len())..])?;
    session.finish().map(|_| ())
}

/// Applies the genuine bundle from wherever the journal stands, then boots and confirms it.
fn apply_and_confirm(flash: &mut Flash, rig: &Device) {
    let (_, _, payload) = split(&rig.bundle);
    feed(flash, rig.layout, &rig.bundle, payload).unwrap();
    rig.assert_new_confirmed_after_trial(flash);
}

impl Device {
    fn assert_new_confirmed_after_trial(&self, flash: &mut Flash) {
        let mut up = Updater::open(&mut *flash, self.layout).unwrap();
        let boot = up.boot(POLICY).unwrap();
        assert_eq!(boot.kind, BootKind::Trial);
        assert_eq!(self.loaded(up.flash().bytes(), &boot), Model::New);
        up.confirm().unwrap();
        self.assert_new_confirmed(flash);
    }
}

/// Defect 1: a genuine header with a forged payload (one stored chunk covering the whole
/// result and ending early) used to reach `Done`, checkpoint, and leave the genuine bundle
/// failing on every retry. Now the forged segment is refused before anything is decoded or
/// written, and the genuine bundle applies.
#[test]
fn a_forged_payload_cannot_wedge_the_genuine_update() {
    let rig = device();
    // A full image: stored chunks, one per erase block, each with its framing.
    let mut stored = PayloadBuilder::new(10).with_segment_log2(10);
    stored.push_stored(&rig.new);
    let identity = BundleIdentity {
        security_counter: PROVISIONED_COUNTER + 1,
        ..BundleIdentity::default()
    };
    let (header, full_image) = stored.unsigned_bundle(&identity, None, &rig.new);
    let (_, _, genuine) = split(&full_image);
    let forged_result = vec![0xA5; header.result_len as usize];
    let chunk = ChunkHeader {
        output_len: header.result_len,
        coded_len: header.result_len,
        codec: 0,
    };
    let mut framing = [0; MAX_CHUNK_HEADER_LEN];
    let n = chunk.encode(&mut framing);
    let mut plain = framing[..n].to_vec();
    plain.extend_from_slice(&forged_result);
    let (forged, _) = chain(&plain, header.segment_log2).unwrap();
    assert!(
        forged.len() < genuine.len(),
        "the forged payload ends early"
    );

    let mut flash = rig.start.clone();
    flash.record();
    let err = feed(&mut flash, rig.layout, &full_image, &forged).unwrap_err();
    assert!(
        matches!(err, Error::PayloadSegmentMismatch { segment: 0, .. }),
        "{err:?}"
    );
    let log = flash.take_log();
    assert_eq!(
        touching(&log, rig.layout.slot_b),
        0,
        "forged bytes reached slot B"
    );
    let up = Updater::open(&mut flash, rig.layout).unwrap();
    assert!(matches!(
        up.state().phase,
        Phase::Updating {
            checkpoint: None,
            ..
        }
    ));
    // The genuine bundle (same header, same bundle hash) now applies from the start.
    feed(&mut flash, rig.layout, &full_image, genuine).unwrap();
    rig.assert_new_confirmed_after_trial(&mut flash);
}

/// Defect 2: payload bytes were decoded, programmed and checkpointed before the payload hash
/// was checked at the end. Now a tampered byte anywhere stops the update at its segment, and
/// everything on flash before it is the genuine result.
#[test]
fn no_unauthenticated_byte_reaches_the_decoder_or_flash() {
    let rig = device();
    let (header_bytes, _, genuine) = split(&rig.bundle);
    let segments = BundleHeader::parse(header_bytes)
        .unwrap()
        .segments()
        .unwrap();
    assert!(segments.count > 4, "the test bundle spans several segments");
    for segment in [0, 1, segments.count / 2, segments.count - 1] {
        let at = (segments.wire_start(segment) + 3) as usize;
        let mut tampered = genuine.to_vec();
        tampered[at] ^= 0x10;
        let mut flash = rig.start.clone();
        flash.record();
        let err = feed(&mut flash, rig.layout, &rig.bundle, &tampered).unwrap_err();
        assert_eq!(
            err,
            Error::PayloadSegmentMismatch {
                segment,
                wire_offset: segments.wire_start(segment)
            }
        );
        let log = flash.take_log();
        if segment == 0 {
            assert_eq!(touching(&log, rig.layout.slot_b), 0);
        }
        // Whatever reached slot B is the genuine result's prefix.
        let written: u64 = log
            .iter()
            .filter_map(|op| match op {
                FlashOp::Write { offset, data }
                    if rig.layout.slot_b.offset <= *offset
                        && u64::from(*offset) < rig.layout.slot_b.end() =>
                {
                    Some(u64::from(*offset - rig.layout.slot_b.offset) + data.len() as u64)
                }
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let start = rig.layout.slot_b.offset as usize;
        let on_flash = &flash.bytes()[start..start + (written as usize).min(rig.new.len())];
        assert_eq!(on_flash, &rig.new[..on_flash.len()], "segment {segment}");
        // The genuine bytes resume from the last checkpoint and finish.
        apply_and_confirm(&mut flash, &rig);
    }
}

/// Defect 3: the result was hashed in RAM, never on flash. A cell that silently fails to
/// program is now caught when the write is read back, and the update resumes and rewrites it.
#[test]
fn a_cell_that_silently_fails_to_program_is_caught_and_rewritten() {
    let rig = device();
    let (_, _, payload) = split(&rig.bundle);
    let mut clean = rig.start.clone();
    let first = clean.counts().mutations();
    clean.record();
    feed(&mut clean, rig.layout, &rig.bundle, payload).unwrap();
    let log = clean.take_log();
    let slot_b = rig.layout.slot_b;
    let (index, addr) = log
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            FlashOp::Write { offset, .. }
                if *offset >= slot_b.offset + 4096 && u64::from(*offset) < slot_b.end() =>
            {
                Some((first + i as u64, *offset + 3))
            }
            _ => None,
        })
        .next()
        .unwrap();
    let mut flash = rig.start.clone();
    flash.inject(Fault::StuckBits {
        at: index,
        addr,
        mask: 0xFF,
    });
    let err = feed(&mut flash, rig.layout, &rig.bundle, payload).unwrap_err();
    assert!(matches!(err, Error::ProgramVerifyFailed { .. }), "{err:?}");
    assert_eq!(flash.fault_counts().stuck_programs, 1);
    apply_and_confirm(&mut flash, &rig);
}

/// Defect 3: a cell that never programs leaves the update unfinishable, never pending, and
/// the old model booting.
#[test]
fn a_dead_cell_in_the_inactive_slot_never_gets_booted() {
    let rig = device();
    let (_, _, payload) = split(&rig.bundle);
    let mut flash = rig.start.clone();
    // A byte whose bit 0 must be programmed (0 in the result) sits on a cell that never does.
    let at = (5000..rig.new.len())
        .find(|&i| rig.new[i] & 1 == 0)
        .unwrap();
    flash.inject(Fault::WeakCell {
        addr: rig.layout.slot_b.offset + at as u32,
        mask: 0x01,
    });
    for _ in 0..3 {
        let err = feed(&mut flash, rig.layout, &rig.bundle, payload).unwrap_err();
        assert!(matches!(err, Error::ProgramVerifyFailed { .. }), "{err:?}");
    }
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    assert!(matches!(up.state().phase, Phase::Updating { .. }));
    let boot = up.boot(POLICY).unwrap();
    assert_eq!(boot.kind, BootKind::Confirmed);
    assert_eq!(rig.loaded(up.flash().bytes(), &boot), Model::Old);
}

/// Defect 3: a bit that flips in the inactive slot after it was programmed is caught by the
/// read-back in `finish` (the update is discarded and starts over), and with
/// `verify_trial_boot`, after the update became pending, at the trial boot.
#[test]
fn the_result_is_checked_on_flash_before_pending_and_at_trial_boot() {
    let rig = device();
    let (header, signature, payload) = split(&rig.bundle);
    let slot_b = rig.layout.slot_b.offset;
    let mut flash = rig.start.clone();
    {
        let mut up = Updater::open(&mut flash, rig.layout).unwrap();
        let mut work = vec![0; WORK_LEN];
        let mut admission = ParseOnlyAdmission::default();
        let mut session = up
            .begin(&mut admission, header, signature, &mut work)
            .unwrap();
        session.feed(payload).unwrap();
        // Retention loss in a byte already written, before the final check.
        drop(session);
        up.flash().flip_bits(slot_b + 100, 0x04);
    }
    // `finish` in a resumed session reads the slot back.
    let err = feed(&mut flash, rig.layout, &rig.bundle, payload).unwrap_err();
    assert_eq!(err, Error::ResultHashMismatch);
    let up = Updater::open(&mut flash, rig.layout).unwrap();
    assert_eq!(up.state().phase, Phase::Idle);
    // The update starts over and becomes pending; then a bit flips before the trial boot.
    feed(&mut flash, rig.layout, &rig.bundle, payload).unwrap();
    flash.flip_bits(slot_b + 200, 0x20);
    let mut unchecked = flash.clone();
    let checking = BootPolicy {
        verify_trial_boot: true,
        ..POLICY
    };
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let boot = up.boot(checking).unwrap();
    assert_eq!(boot.kind, BootKind::TrialCorrupt);
    assert_eq!(rig.loaded(up.flash().bytes(), &boot), Model::Old);
    assert_eq!(up.state().phase, Phase::Idle);
    // Without the boot-time check the trial boots (the finish-time check is what it relies
    // on): the policy is the firmware's choice, per target in Mallorn.toml.
    let mut up = Updater::open(&mut unchecked, rig.layout).unwrap();
    assert_eq!(up.boot(POLICY).unwrap().kind, BootKind::Trial);

    // A trial slot that cannot be read cannot be shown to hold the model either: reverted,
    // not left pending at every boot. (Found by an audit: `boot` failed at every reset.)
    let mut unreadable = rig.start.clone();
    feed(&mut unreadable, rig.layout, &rig.bundle, payload).unwrap();
    unreadable.inject(Fault::ReadError {
        addr: slot_b + 300,
        persistence: Persistence::Always,
    });
    let mut glitch = unreadable.clone();
    let mut up = Updater::open(&mut unreadable, rig.layout).unwrap();
    let boot = up.boot(checking).unwrap();
    assert_eq!((boot.kind, boot.slot), (BootKind::TrialCorrupt, Slot::A));
    assert_eq!(up.state().phase, Phase::Idle);
    // One failed read is read again: a glitch does not cost the update.
    glitch.clear_faults();
    glitch.inject(Fault::ReadError {
        addr: slot_b + 300,
        persistence: Persistence::Once,
    });
    let mut up = Updater::open(&mut glitch, rig.layout).unwrap();
    let boot = up.boot(checking).unwrap();
    assert_eq!((boot.kind, boot.slot), (BootKind::Trial, Slot::B));
}

/// Defect 4: `confirm` failed (the record landed but the driver reported an error), the
/// firmware cancelled, and after a reboot the device ran the cancelled model with its counter
/// committed, because the cancel record reused the confirm record's sequence number.
#[test]
fn a_cancel_after_a_failed_confirm_keeps_the_old_model() {
    let rig = device();
    let (_, _, payload) = split(&rig.bundle);
    let mut flash = rig.start.clone();
    feed(&mut flash, rig.layout, &rig.bundle, payload).unwrap();
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    assert_eq!(up.boot(POLICY).unwrap().kind, BootKind::Trial);
    // Every write attempt of the confirm record lands and reports an error (an append tries
    // three slots).
    let next = up.flash().counts().mutations();
    for at in next..next + 3 {
        up.flash().inject(Fault::FailedButLanded { at });
    }
    assert!(up.confirm().is_err());
    assert_eq!(up.flash().fault_counts().failed_but_landed, 3);
    up.cancel().unwrap();
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let boot = up.boot(POLICY).unwrap();
    assert_eq!(boot.kind, BootKind::Confirmed);
    assert_eq!(rig.loaded(up.flash().bytes(), &boot), Model::Old);
    assert_eq!(up.state().committed_counter, PROVISIONED_COUNTER);
    assert_eq!(up.state().active, Slot::A);
}

/// Defect 5: one unreadable journal slot made `Updater::open` fail. Now it is skipped and
/// counted, the state comes from the others, and a record that reappears later can never
/// outrank what was written after it.
#[test]
fn an_unreadable_journal_slot_is_skipped_and_never_outranks_later_records() {
    let rig = device();
    let (_, _, payload) = split(&rig.bundle);
    let mut flash = rig.start.clone();
    feed(&mut flash, rig.layout, &rig.bundle, payload).unwrap();
    // The newest state (pending) is in the last two journal slots written (a transition is
    // written twice); make both unreadable.
    let state = rig.layout.state;
    for newest in newest_records(&flash, state, 2) {
        flash.inject(Fault::ReadError {
            addr: newest + 10,
            persistence: Persistence::Always,
        });
    }
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    assert_eq!(up.journal_unreadable_slots(), 2);
    // The decision comes from the readable records: the update in progress, not pending.
    assert!(matches!(up.state().phase, Phase::Updating { .. }));
    let boot = up.boot(POLICY).unwrap();
    assert_eq!(rig.loaded(up.flash().bytes(), &boot), Model::Old);
    up.cancel().unwrap();
    // The slot reads again: the cancel written after it still wins.
    flash.clear_faults();
    let up = Updater::open(&mut flash, rig.layout).unwrap();
    assert_eq!(up.journal_unreadable_slots(), 0);
    assert_eq!(up.state().phase, Phase::Idle);
    // A journal none of whose slots reads leaves a clear error, and provisioning recovers.
    for slot in 0..state.len / 208 {
        flash.inject(Fault::ReadError {
            addr: state.offset + slot * 208,
            persistence: Persistence::Always,
        });
    }
    assert!(matches!(
        Updater::open(&mut flash, rig.layout).err(),
        Some(Error::JournalUnreadable { .. })
    ));
}

/// Defect 6: a trial got exactly one boot. Now `trial_boots` boots, counted in the journal.
#[test]
fn a_trial_gets_its_boots_then_reverts() {
    let rig = device();
    let (_, _, payload) = split(&rig.bundle);
    let mut flash = rig.start.clone();
    feed(&mut flash, rig.layout, &rig.bundle, payload).unwrap();
    let policy = BootPolicy {
        trial_boots: 3,
        verify_trial_boot: false,
    };
    for left in [2u8, 1, 0] {
        let mut up = Updater::open(&mut flash, rig.layout).unwrap();
        let boot = up.boot(policy).unwrap();
        assert_eq!(boot.kind, BootKind::Trial);
        assert_eq!(rig.loaded(up.flash().bytes(), &boot), Model::New);
        assert!(matches!(up.state().phase, Phase::Trial { boots_left, .. } if boots_left == left));
    }
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    let boot = up.boot(policy).unwrap();
    assert_eq!(boot.kind, BootKind::Reverted);
    assert_eq!(rig.loaded(up.flash().bytes(), &boot), Model::Old);
    // A confirm on a later trial boot commits, as on the first.
    let mut flash = rig.start.clone();
    feed(&mut flash, rig.layout, &rig.bundle, payload).unwrap();
    Updater::open(&mut flash, rig.layout)
        .unwrap()
        .boot(policy)
        .unwrap();
    let mut up = Updater::open(&mut flash, rig.layout).unwrap();
    assert_eq!(up.boot(policy).unwrap().kind, BootKind::Trial);
    up.confirm().unwrap();
    assert_eq!(up.state().active, Slot::B);
}

/// Defect 6: a bundle carrying counter `u64::MAX` could be committed and block every later
/// update. Counters above `MAX_SECURITY_COUNTER` are refused, and so is provisioning with one.
#[test]
fn a_counter_beyond_the_maximum_is_refused() {
    use mallorn_runtime::verify::{MAX_SECURITY_COUNTER, check_counter};
    let rig = device();
    let (header_bytes, _, _) = split(&rig.bundle);
    let mut header = BundleHeader::parse(header_bytes).unwrap();
    header.security_counter = u64::MAX;
    assert_eq!(
        check_counter(&header, 5),
        Err(Error::CounterOutOfRange { bundle: u64::MAX })
    );
    header.security_counter = MAX_SECURITY_COUNTER;
    assert_eq!(check_counter(&header, 5), Ok(()));
    let mut flash = Flash::new(rig.start.bytes().len());
    let image = mallorn_runtime::storage::SlotImage {
        len: 0,
        sha256: mallorn_runtime::hash::sha256(&[]),
    };
    assert_eq!(
        Updater::provision(&mut flash, rig.layout, Slot::A, image, u64::MAX).err(),
        Some(Error::CounterOutOfRange { bundle: u64::MAX })
    );
}

/// Defect 6: a replayed older genuine bundle could replace a pending newer one. An update in
/// progress or pending is only replaced by a bundle whose counter is not lower.
#[test]
fn an_older_bundle_cannot_replace_a_pending_newer_one() {
    let rig = device();
    let newer = build_bundle(&rig.old, &rig.new, 10, PROVISIONED_COUNTER + 5);
    let older = build_bundle(&rig.old, &rig.new, 10, PROVISIONED_COUNTER + 2);
    let mut flash = rig.start.clone();
    let (_, _, payload) = split(&newer);
    feed(&mut flash, rig.layout, &newer, payload).unwrap();
    let before = flash.counts().mutations();
    let (_, _, older_payload) = split(&older);
    assert_eq!(
        feed(&mut flash, rig.layout, &older, older_payload),
        Err(Error::CounterBelowPending {
            bundle: PROVISIONED_COUNTER + 2,
            pending: PROVISIONED_COUNTER + 5
        })
    );
    assert_eq!(flash.counts().mutations(), before);
    let up = Updater::open(&mut flash, rig.layout).unwrap();
    assert!(
        matches!(up.state().phase, Phase::Pending(t) if t.security_counter == PROVISIONED_COUNTER + 5)
    );
}

/// A journal record that does not read back as written is left behind and written again in
/// the next slot (its own sequence number); when three slots in a row fail, `begin` reports
/// `JournalWriteFailed` and the update does not start. Either way the next update succeeds.
#[test]
fn a_journal_record_that_fails_to_program_is_reported_and_retried() {
    let rig = device();
    let (header, signature, _) = split(&rig.bundle);
    // Where `begin` writes its record, found on a copy.
    let mut probe = rig.start.clone();
    let first = probe.counts().mutations();
    probe.record();
    {
        let mut up = Updater::open(&mut probe, rig.layout).unwrap();
        let mut work = vec![0; WORK_LEN];
        drop(
            up.begin(
                &mut ParseOnlyAdmission::default(),
                header,
                signature,
                &mut work,
            )
            .unwrap(),
        );
    }
    let state = rig.layout.state;
    let (index, addr) = probe
        .take_log()
        .iter()
        .enumerate()
        .find_map(|(i, op)| match op {
            FlashOp::Write { offset, .. }
                if *offset >= state.offset && u64::from(*offset) < state.end() =>
            {
                Some((first + i as u64, *offset + 20))
            }
            _ => None,
        })
        .unwrap();
    for failing in [1, 3] {
        let mut flash = rig.start.clone();
        // The attempts go to consecutive 208-byte slots of the bank just erased.
        for attempt in 0..failing {
            flash.inject(Fault::StuckBits {
                at: index + attempt,
                addr: addr + 208 * attempt as u32,
                mask: 0xFF,
            });
        }
        {
            let mut up = Updater::open(&mut flash, rig.layout).unwrap();
            let mut work = vec![0; WORK_LEN];
            let begun = up
                .begin(
                    &mut ParseOnlyAdmission::default(),
                    header,
                    signature,
                    &mut work,
                )
                .map(drop);
            if failing == 3 {
                assert_eq!(begun, Err(Error::JournalWriteFailed));
                assert_eq!(up.state().phase, Phase::Idle);
            } else {
                assert_eq!(begun, Ok(()));
                assert!(matches!(up.state().phase, Phase::Updating { .. }));
            }
        }
        assert_eq!(flash.fault_counts().stuck_programs, failing);
        apply_and_confirm(&mut flash, &rig);
    }
}
