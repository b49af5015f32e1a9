//! The runtime's A/B updater over model files (`mallorn_files::FileSlots`, for Linux devices):
//! a signed-format bundle applied from fragments to `<name>.b`, trial boot, confirm, the running
//! model's file never written, the new model's file exactly the model; and a process killed at
//! any of a spread of flash operations resumes from the journal to the new model.

use std::path::Path;

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
use mallorn_engine::bundle::BundleIdentity;
use mallorn_files::{FileFlashError, FileSlots};
use mallorn_runtime::Error;
use mallorn_runtime::format::{HEADER_LEN, SIGNED_BUNDLE_PREFIX, model_id, sku_id};
use mallorn_runtime::hash::sha256;
use mallorn_runtime::storage::{
    BootKind, BootPolicy, Slot, SlotImage, UnsignedDevelopmentAdmit, Updater,
};
use mallorn_tests::{raw_delta_bundle, synthetic_model};

const POLICY: BootPolicy = BootPolicy {
    trial_boots: 1,
    verify_trial_boot: true,
};
const MAX_MODEL: u64 = 400_000;

struct Pair {
    old: Vec<u8>,
    new: Vec<u8>,
    bundle: Vec<u8>,
}

fn pair() -> Pair {
    let old = synthetic_model(300_000, 5);
    let mut new = old[..250_000].to_vec();
    for (i, byte) in new.iter_mut().enumerate().step_by(9) {
        *byte ^= (i as u8) | 1;
    }
    let identity = BundleIdentity {
        model_id: model_id("kws"),
        sku_id: sku_id("linux-soc"),
        security_counter: 2,
        ..BundleIdentity::default()
    };
    let bundle = raw_delta_bundle(&old, &new, identity, 16 << 10);
    Pair { old, new, bundle }
}

/// A device folder with the factory model in `kws.a`, provisioned.
fn provisioned(dir: &Path, old: &[u8]) {
    std::fs::write(dir.join("kws.a"), old).unwrap();
    let slots = FileSlots::open(dir, "kws", MAX_MODEL).unwrap();
    let layout = slots.layout();
    let image = SlotImage {
        len: old.len() as u64,
        sha256: sha256(old),
    };
    Updater::provision(slots, layout, Slot::A, image, 1).unwrap();
}

/// One boot of the device's update logic: boot, confirm a trial, or (re)apply the bundle.
fn boot_once<F: NorFlash>(
    flash: F,
    layout_of: fn(&F) -> mallorn_runtime::storage::FlashLayout,
    bundle: &[u8],
) -> Result<BootKind, Error> {
    let layout = layout_of(&flash);
    let mut up = Updater::open(flash, layout)?;
    let decision = up.boot(POLICY)?;
    match decision.kind {
        BootKind::Trial => up.confirm()?,
        BootKind::Confirmed if decision.slot == Slot::B => {}
        _ => {
            let (header, rest) = bundle.split_first_chunk::<HEADER_LEN>().unwrap();
            let signature = rest[..SIGNED_BUNDLE_PREFIX - HEADER_LEN]
                .try_into()
                .unwrap();
            let payload = &bundle[SIGNED_BUNDLE_PREFIX..];
            let mut scratch = [0u8; 4096];
            let mut admit =
                UnsignedDevelopmentAdmit::new(sku_id("linux-soc"), model_id("kws"), &mut scratch);
            let parsed = mallorn_runtime::format::BundleHeader::parse(header)?;
            let mut work = vec![0u8; parsed.ram_required as usize];
            let mut session = up.begin(&mut admit, header, signature, &mut work)?;
            while session.payload_offset() < session.payload_len() {
                let at = session.payload_offset() as usize;
                session.feed(&payload[at..(at + 10_000).min(payload.len())])?;
            }
            session.finish()?;
        }
    }
    Ok(decision.kind)
}

fn slots_layout(slots: &FileSlots) -> mallorn_runtime::storage::FlashLayout {
    slots.layout()
}

#[test]
fn an_update_over_model_files_boots_on_trial_and_confirms() {
    let pair = pair();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    provisioned(d, &pair.old);
    let open = || FileSlots::open(d, "kws", MAX_MODEL).unwrap();
    assert_eq!(
        boot_once(open(), slots_layout, &pair.bundle).unwrap(),
        BootKind::Confirmed
    );
    assert_eq!(
        std::fs::read(d.join("kws.a")).unwrap(),
        pair.old,
        "running model written"
    );
    assert_eq!(
        boot_once(open(), slots_layout, &pair.bundle).unwrap(),
        BootKind::Trial
    );
    assert_eq!(
        std::fs::read(d.join("kws.b")).unwrap(),
        pair.new,
        "not exactly the model"
    );
    let layout = open().layout();
    let mut up = Updater::open(open(), layout).unwrap();
    let decision = up.boot(POLICY).unwrap();
    assert_eq!(
        (decision.kind, decision.slot),
        (BootKind::Confirmed, Slot::B)
    );
    assert_eq!(up.flash().model_path(Slot::B), d.join("kws.b"));
    assert_eq!(up.state().committed_counter, 2);
    assert_eq!(std::fs::read(d.join("kws.a")).unwrap(), pair.old);
}

/// Slot B's file still holds a longer model (a previous update's, say) when the next update
/// starts: erasing the slot's first block must cut the file, or its tail would survive past the
/// new model's end.
#[test]
fn a_longer_stale_model_in_the_inactive_slot_leaves_no_tail() {
    let pair = pair();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    provisioned(d, &pair.old);
    let stale = synthetic_model(350_000, 11);
    assert!(stale.len() > pair.new.len() && (stale.len() as u64) < MAX_MODEL);
    std::fs::write(d.join("kws.b"), &stale).unwrap();
    let open = || FileSlots::open(d, "kws", MAX_MODEL).unwrap();
    assert_eq!(
        boot_once(open(), slots_layout, &pair.bundle).unwrap(),
        BootKind::Confirmed
    );
    assert_eq!(
        boot_once(open(), slots_layout, &pair.bundle).unwrap(),
        BootKind::Trial
    );
    let installed = std::fs::read(d.join("kws.b")).unwrap();
    assert_eq!(
        installed.len(),
        pair.new.len(),
        "the stale model's tail survived"
    );
    assert!(installed == pair.new, "not exactly the new model");
    assert_eq!(std::fs::read(d.join("kws.a")).unwrap(), pair.old);
}

/// The file flash, killed (every operation fails) after `left` erases and writes.
struct Killed {
    slots: FileSlots,
    left: u32,
}

impl ErrorType for Killed {
    type Error = FileFlashError;
}

impl ReadNorFlash for Killed {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FileFlashError> {
        self.slots.read(offset, bytes)
    }
    fn capacity(&self) -> usize {
        self.slots.capacity()
    }
}

impl Killed {
    fn step(&mut self) -> Result<(), FileFlashError> {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            // Reading through the real slots with an out-of-range address yields the error
            // type; the kind is what the runtime sees.
            None => Err(self.slots.read(u32::MAX, &mut [0]).unwrap_err()),
        }
    }
}

impl NorFlash for Killed {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = mallorn_files::SLOT_ERASE_SIZE;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), FileFlashError> {
        self.step()?;
        self.slots.erase(from, to)
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FileFlashError> {
        self.step()?;
        self.slots.write(offset, bytes)
    }
}

#[test]
fn a_kill_at_any_flash_operation_resumes_to_the_new_model() {
    let pair = pair();
    let (mut resumed, mut kills) = (0, 0);
    for kill_at in (0..400).step_by(23) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        provisioned(d, &pair.old);
        let killed = Killed {
            slots: FileSlots::open(d, "kws", MAX_MODEL).unwrap(),
            left: kill_at,
        };
        let first = boot_once(killed, |k| k.slots.layout(), &pair.bundle);
        if let Err(error) = first {
            kills += 1;
            assert_eq!(
                error,
                Error::Flash(NorFlashErrorKind::OutOfBounds),
                "{kill_at}"
            );
            let layout = FileSlots::open(d, "kws", MAX_MODEL).unwrap().layout();
            let up = Updater::open(FileSlots::open(d, "kws", MAX_MODEL).unwrap(), layout)
                .expect("the journal opens after a kill");
            resumed += usize::from(up.resume_point().is_some_and(|r| r.payload_offset > 0));
            drop(up);
        }
        let open = || FileSlots::open(d, "kws", MAX_MODEL).unwrap();
        for _ in 0..3 {
            if boot_once(open(), slots_layout, &pair.bundle).unwrap() == BootKind::Trial {
                break;
            }
        }
        let layout = open().layout();
        let mut up = Updater::open(open(), layout).unwrap();
        let decision = up.boot(POLICY).unwrap();
        assert_eq!(
            (decision.kind, decision.slot),
            (BootKind::Confirmed, Slot::B),
            "{kill_at}"
        );
        assert_eq!(
            std::fs::read(d.join("kws.b")).unwrap(),
            pair.new,
            "{kill_at}"
        );
        assert_eq!(
            std::fs::read(d.join("kws.a")).unwrap(),
            pair.old,
            "{kill_at}"
        );
    }
    assert!(kills >= 10, "only {kills} kills landed during the update");
    assert!(resumed > 0, "no kill fell mid-payload");
}

/// Two updaters over the same files (a status tool or a second instance of the service next
/// to the running one) would each keep their own copy of the journal state and write records
/// over the other's: the second `FileSlots` on the same journal is refused while the first is
/// open, and opens once it is closed (or its process died).
#[test]
fn a_second_file_slots_on_the_same_journal_is_refused_while_one_is_open() {
    let pair = pair();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    provisioned(d, &pair.old);
    let first = FileSlots::open(d, "kws", MAX_MODEL).unwrap();
    let second = FileSlots::open(d, "kws", MAX_MODEL).map(drop);
    assert_eq!(
        second.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock)
    );
    // Another model in the same folder is another journal.
    FileSlots::open(d, "other", MAX_MODEL).unwrap();
    drop(first);
    let layout = FileSlots::open(d, "kws", MAX_MODEL).unwrap().layout();
    let mut up = Updater::open(FileSlots::open(d, "kws", MAX_MODEL).unwrap(), layout).unwrap();
    assert_eq!(up.boot(POLICY).unwrap().kind, BootKind::Confirmed);
}
