//! The update path over an async flash driver (`embedded_storage_async`, as embassy's HALs
//! provide): through `AsyncFlash`, every erase, program and read of a whole update goes to a
//! driver whose operations are each pending before they complete, and the device ends with the
//! new model byte-exact, after power cuts too, doing exactly what it does over a blocking driver.

use std::sync::OnceLock;

use mallorn_runtime::sim::{CutMode, PendingFlash, SimFlash};
use mallorn_runtime::storage::AsyncFlash;

use crate::common::{
    Drive, Rig, Source, drive_to_new, drive_to_new_via, next_release, synthetic_model,
};

type Flash = SimFlash<8, 1024, 1>;
type Device = Rig<8, 1024, 1>;
/// The simulated part behind an async driver whose operations are pending twice.
type Async<'a> = AsyncFlash<PendingFlash<&'a mut Flash>>;

const PENDING_POLLS: u32 = 2;
const FRAGMENTS: &[usize] = &[700, 1500];

fn device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let old = synthetic_model(24_000, 21);
            let new = next_release(&old, 22);
            Rig::new(old, new)
        })
        .clone()
}

fn sim_bytes<'a>(flash: &'a Async<'_>) -> &'a [u8] {
    flash.inner().inner().bytes()
}

/// Drives the device to the new model through the async driver; returns the drive and the
/// polls the driver saw.
fn drive_async(flash: &mut Flash, rig: &Device) -> (Result<Drive, mallorn_runtime::Error>, usize) {
    let mut driver = AsyncFlash::new(PendingFlash::new(flash, PENDING_POLLS));
    let drive = drive_to_new_via(&mut driver, rig, Source::Download(FRAGMENTS), sim_bytes);
    (drive, driver.inner().polls())
}

#[test]
fn an_update_over_an_async_driver_does_what_it_does_over_a_blocking_one() {
    let rig = device();
    let mut blocking = rig.start.clone();
    blocking.record();
    drive_to_new(&mut blocking, &rig, Source::Download(FRAGMENTS)).unwrap();

    let mut asynchronous = rig.start.clone();
    asynchronous.record();
    let (drive, polls) = drive_async(&mut asynchronous, &rig);
    assert_eq!(drive.unwrap().boots, 3, "apply, trial boot, confirmed boot");
    rig.assert_new_confirmed(&mut asynchronous);

    let log = asynchronous.take_log();
    assert_eq!(
        log,
        blocking.take_log(),
        "the same erases and programs, in order"
    );
    assert_eq!(asynchronous.bytes(), blocking.bytes());
    // Each operation (reads included) was polled PENDING_POLLS + 1 times.
    let ops = asynchronous.counts();
    assert_eq!(polls as u64 % u64::from(PENDING_POLLS + 1), 0);
    assert!(polls as u64 / u64::from(PENDING_POLLS + 1) >= ops.mutations());
}

#[test]
fn power_cuts_during_an_async_update_resume_to_the_new_model() {
    let rig = device();
    let mut clean = rig.start.clone();
    clean.record();
    drive_async(&mut clean, &rig).0.unwrap();
    let mutations = clean.take_log().len() as u64;
    let first = rig.start.counts().mutations();
    let mut resumed = 0;
    for cut in (0..mutations).step_by(5) {
        for mode in [CutMode::Before, CutMode::During] {
            let mut flash = rig.start.clone();
            flash.cut_power_at(first + cut, mode);
            assert!(
                drive_async(&mut flash, &rig).0.is_err(),
                "cut {cut} not reached"
            );
            flash.reboot();
            let drive = drive_async(&mut flash, &rig).0.unwrap();
            resumed += usize::from(drive.resumed_at.iter().any(|&at| at > 0));
            rig.assert_new_confirmed(&mut flash);
        }
    }
    assert!(resumed > 0, "no cut resumed an update mid-payload");
}
