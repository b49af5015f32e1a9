//! The fault catalogue on a bundle's real layout: each run provisions the device, injects one
//! kind of fault at chosen points of the clean run, and drives the device to the end. Faults
//! the runtime must recover from must end with the new model confirmed; a dead cell in the
//! inactive slot makes the update impossible, and must leave the old model booting.

use mallorn_runtime::sim::{CutMode, Fault, FaultPlan, FlashOp, Persistence, SimFlash};
use mallorn_runtime::storage::{BootPolicy, Region};

use crate::simulate::firmware::{
    Case, Firmware, Loaded, MAX_BOOTS, OnConfirmError, Script, Violation,
};
use crate::simulate::report::Tally;
use crate::simulate::sweep::clean_run;

/// Points taken from a list of candidates (evenly spread).
const POINTS: usize = 6;
/// Seeds of the several-cut schedules.
const SEEDS: std::ops::Range<u64> = 1..9;
/// Cuts per schedule.
const CUTS_PER_SCHEDULE: usize = 4;

fn inside(region: Region, at: u64) -> bool {
    at >= u64::from(region.offset) && at < region.end()
}

/// `n` evenly spread items of `items`.
fn spread<T: Copy>(items: &[T], n: usize) -> Vec<T> {
    if items.len() <= n {
        return items.to_vec();
    }
    (0..n)
        .map(|k| items[k * (items.len() - 1) / (n - 1).max(1)])
        .collect()
}

/// Writes of the log into `region`: (mutation index, first byte the write programs (not
/// 0xFF), its bits to clear).
fn writes_into(log: &[FlashOp], first: u64, region: Region) -> Vec<(u64, u32, u8)> {
    log.iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            FlashOp::Write { offset, data } if inside(region, u64::from(*offset)) => {
                let j = data.iter().position(|&b| b != 0xFF)?;
                Some((first + i as u64, offset + j as u32, !data[j]))
            }
            _ => None,
        })
        .collect()
}

/// Runs the catalogue for `case`.
pub fn catalogue<const W: usize, const E: usize>(case: &Case, tally: &mut Tally) {
    let start = case.provisioned::<W, E>();
    let Ok((first, log, drive)) = clean_run(case, &start, Script::Straight) else {
        // The sweep reports the failing clean run.
        return;
    };
    let layout = case.layout;
    let mut run = |name: String, flash, firmware, expect_done| {
        run_one::<W, E>(case, tally, name, flash, firmware, expect_done);
    };
    let fw = || Firmware::new(case, Script::Straight);

    // Silent program failures in slot B and in journal records.
    for (region, what) in [(layout.slot_b, "slot B"), (layout.state, "journal")] {
        for (at, addr, mask) in spread(&writes_into(&log, first, region), POINTS) {
            let mut flash = start.clone();
            flash.inject(Fault::StuckBits { at, addr, mask });
            run(
                format!("stuck bits in {what} write at mutation {at}"),
                flash,
                fw(),
                true,
            );
        }
    }
    // Transient read errors in the slots and the journal.
    let spots = [
        ("slot A", layout.slot_a.offset),
        (
            "slot A middle",
            layout.slot_a.offset + case.old.len() as u32 / 2,
        ),
        ("slot B", layout.slot_b.offset),
        (
            "slot B middle",
            layout.slot_b.offset + case.new.len() as u32 / 2,
        ),
        ("journal", layout.state.offset),
        ("journal bank 2", layout.state.offset + layout.state.len / 2),
    ];
    for (what, addr) in spots {
        let mut flash = start.clone();
        flash.inject(Fault::ReadError {
            addr,
            persistence: Persistence::Once,
        });
        run(format!("read error once in {what}"), flash, fw(), true);
    }
    let mut counted = start.clone();
    let reads_before = counted.counts().reads;
    let _ = fw().run(&mut counted, MAX_BOOTS);
    let reads: Vec<u64> = (reads_before..counted.counts().reads).collect();
    for read in spread(&reads, POINTS) {
        let mut flash = start.clone();
        flash.inject(Fault::ReadErrorAt { read });
        run(format!("read error at read {read}"), flash, fw(), true);
    }
    // ECC on: cuts tear words, which then read as errors until erased.
    let indices: Vec<u64> = (first..first + log.len() as u64).collect();
    for at in spread(&indices, 2 * POINTS) {
        let mut flash = start.clone();
        flash.set_ecc(true);
        flash.inject(Fault::PowerCut {
            at,
            mode: CutMode::During,
        });
        run(
            format!("ECC on, cut during mutation {at}"),
            flash,
            fw(),
            true,
        );
    }
    // Writes and erases reported failed that landed, the confirm record included; the
    // firmware retries a failed confirm, or cancels and applies again.
    for (i, op) in log.iter().enumerate() {
        let at = first + i as u64;
        let journal = inside(layout.state, op.range().start);
        let reactions: &[OnConfirmError] = if journal {
            &[OnConfirmError::Retry, OnConfirmError::Cancel]
        } else {
            &[OnConfirmError::Retry]
        };
        for &reaction in reactions {
            let mut flash = start.clone();
            flash.inject(Fault::FailedButLanded { at });
            run(
                format!("mutation {at} reported failed but landed, confirm error: {reaction:?}"),
                flash,
                fw().on_confirm_error(reaction),
                true,
            );
        }
    }
    // Bit flips in retained data: slot B bytes already programmed while the update is
    // interrupted (the read-back in finish catches them) ...
    let slot_b_writes = writes_into(&log, first, layout.slot_b);
    for &(at, _, _) in spread(&slot_b_writes, POINTS).iter().skip(1) {
        let Some(&(_, addr, _)) = slot_b_writes.iter().find(|w| w.0 < at) else {
            continue;
        };
        let mut flash = start.clone();
        flash.inject(Fault::PowerCut {
            at,
            mode: CutMode::Before,
        });
        flash.inject(Fault::BitFlip {
            addr,
            mask: 0x04,
            at_reboot: 0,
        });
        run(
            format!("bit flip in slot B at {addr:#x} after a cut at {at}"),
            flash,
            fw(),
            true,
        );
    }
    // ... slot B after the update became pending, with the trial slot checked at boot (the
    // default policy relies on the check in `finish` and would boot the flipped byte) ...
    if let Some(&(_, addr, _)) = slot_b_writes.first() {
        let mut flash = start.clone();
        flash.inject(Fault::PowerCut {
            at: drive.boot_marks[1],
            mode: CutMode::Before,
        });
        flash.inject(Fault::BitFlip {
            addr,
            mask: 0x10,
            at_reboot: 0,
        });
        let checking = BootPolicy {
            verify_trial_boot: true,
            ..case.policy
        };
        run(
            format!("bit flip in pending slot B at {addr:#x}, verify-trial-boot"),
            flash,
            fw().with_policy(checking),
            true,
        );
    }
    // ... and journal records.
    for (at, addr, _) in spread(&writes_into(&log, first, layout.state), POINTS) {
        let mut flash = start.clone();
        flash.inject(Fault::PowerCut {
            at: at + 1,
            mode: CutMode::Before,
        });
        flash.inject(Fault::BitFlip {
            addr: addr + 4,
            mask: 0x10,
            at_reboot: 0,
        });
        run(
            format!("bit flip in the journal record written at {at}"),
            flash,
            fw(),
            true,
        );
    }
    // Torn erases at chosen positions.
    let erases: Vec<(u64, u32)> = log
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            FlashOp::Erase { from, to } => Some((first + i as u64, to - from)),
            FlashOp::Write { .. } => None,
        })
        .collect();
    for (at, len) in spread(&erases, POINTS) {
        for done in [0, len / 2, len.saturating_sub(1)] {
            let mut flash = start.clone();
            flash.inject(Fault::TornCut { at, done });
            run(
                format!("erase at {at} torn after {done} bytes"),
                flash,
                fw(),
                true,
            );
        }
    }
    // Several random power cuts in one update.
    let gap = (log.len() as u64 / CUTS_PER_SCHEDULE as u64).max(1);
    for seed in SEEDS {
        let mut flash = start.clone();
        flash.inject_all(FaultPlan::random_cuts(seed, first, CUTS_PER_SCHEDULE, gap));
        run(
            format!("{CUTS_PER_SCHEDULE} random cuts, seed {seed}"),
            flash,
            fw(),
            true,
        );
    }
    // A dead cell in slot B: the update cannot complete; the old model must keep booting.
    if let Some(i) = case.new.iter().position(|&b| b != 0xFF) {
        let mut flash = start.clone();
        flash.inject(Fault::WeakCell {
            addr: layout.slot_b.offset + i as u32,
            mask: !case.new[i],
        });
        run(
            format!("dead cell in slot B at byte {i}"),
            flash,
            fw(),
            false,
        );
    }
}

/// Drives one faulty device to its end and records the outcome; with `expect_done` false (a
/// dead cell), the run must end with the old model booting instead.
fn run_one<const W: usize, const E: usize>(
    case: &Case,
    tally: &mut Tally,
    name: String,
    mut flash: SimFlash<W, E, 1>,
    mut firmware: Firmware<'_>,
    expect_done: bool,
) {
    let boots = if expect_done { MAX_BOOTS } else { 6 };
    let outcome = firmware.run(&mut flash, boots).map(|_| ());
    tally.faults += flash.fault_counts().injected();
    let outcome = match outcome {
        Err(Violation::Wedged(_)) if !expect_done => {
            if firmware.last_loaded == Some(Loaded::Old) {
                tally.unfinishable += 1;
                Ok(())
            } else {
                Err(Violation::Mixed(format!(
                    "an unfinishable update left the {:?} model booting",
                    firmware.last_loaded
                )))
            }
        }
        Ok(()) if !expect_done => Err(Violation::Wedged(
            "an impossible update reported success".into(),
        )),
        other => other,
    };
    tally.record(case, || name, outcome);
}
