//! The fault catalogue on a bundle's real layout: each run provisions the device, injects one
//! kind of fault at chosen points of the clean run, and drives the device to the end. Faults
//! the runtime must recover from must end with the new model confirmed; a dead cell in the
//! inactive slot makes the update impossible, and must leave the old model booting.

use mallorn_runtime::sim::{CutMode, Fault, FaultPlan, FlashOp, Persistence, SimFlash};
use mallorn_runtime::storage::{BootPolicy, Region, journal};

use crate::simulate::firmware::{
    Case, Drive, Firmware, Loaded, MAX_BOOTS, OnConfirmError, Script, Violation,
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
    let mut catalogue = Catalogue {
        case,
        tally,
        start,
        first,
        log,
        drive,
    };
    catalogue.stuck_bits();
    catalogue.read_errors();
    catalogue.ecc_cuts();
    catalogue.failed_but_landed();
    catalogue.retained_bit_flips();
    catalogue.torn_erases();
    catalogue.random_cuts();
    catalogue.dead_cell();
}

/// One case's catalogue: the provisioned device and its clean run, which places the faults.
struct Catalogue<'a, 't, const W: usize, const E: usize> {
    case: &'a Case,
    tally: &'t mut Tally,
    /// The provisioned device, before the update.
    start: SimFlash<W, E, 1>,
    /// The mutation index of the clean run's first operation.
    first: u64,
    /// The clean run's flash operations.
    log: Vec<FlashOp>,
    /// How the clean run went.
    drive: Drive,
}

impl<'a, const W: usize, const E: usize> Catalogue<'a, '_, W, E> {
    /// The firmware of the clean run.
    fn fw(&self) -> Firmware<'a> {
        Firmware::new(self.case, Script::Straight)
    }

    /// Runs `firmware` on `flash` and records the outcome as `name`.
    fn run(
        &mut self,
        name: String,
        flash: SimFlash<W, E, 1>,
        firmware: Firmware<'_>,
        expect_done: bool,
    ) {
        run_one::<W, E>(self.case, self.tally, name, flash, firmware, expect_done);
    }

    /// The provisioned device with `faults` injected, in order.
    fn faulty(&self, faults: impl IntoIterator<Item = Fault>) -> SimFlash<W, E, 1> {
        let mut flash = self.start.clone();
        for fault in faults {
            flash.inject(fault);
        }
        flash
    }

    /// Silent program failures in slot B and in journal records.
    fn stuck_bits(&mut self) {
        let layout = self.case.layout;
        for (region, what) in [(layout.slot_b, "slot B"), (layout.state, "journal")] {
            for (at, addr, mask) in spread(&writes_into(&self.log, self.first, region), POINTS) {
                let flash = self.faulty([Fault::StuckBits { at, addr, mask }]);
                let name = format!("stuck bits in {what} write at mutation {at}");
                self.run(name, flash, self.fw(), true);
            }
        }
    }

    /// Transient read errors in the slots and the journal, at chosen places and at chosen
    /// reads of the clean run.
    fn read_errors(&mut self) {
        let layout = self.case.layout;
        let spots = [
            ("slot A", layout.slot_a.offset),
            (
                "slot A middle",
                layout.slot_a.offset + self.case.old.len() as u32 / 2,
            ),
            ("slot B", layout.slot_b.offset),
            (
                "slot B middle",
                layout.slot_b.offset + self.case.new.len() as u32 / 2,
            ),
            ("journal", layout.state.offset),
            ("journal bank 2", layout.state.offset + layout.state.len / 2),
        ];
        for (what, addr) in spots {
            let flash = self.faulty([Fault::ReadError {
                addr,
                persistence: Persistence::Once,
            }]);
            self.run(format!("read error once in {what}"), flash, self.fw(), true);
        }
        let mut counted = self.start.clone();
        let reads_before = counted.counts().reads;
        let _ = self.fw().run(&mut counted, MAX_BOOTS);
        let reads: Vec<u64> = (reads_before..counted.counts().reads).collect();
        for read in spread(&reads, POINTS) {
            let flash = self.faulty([Fault::ReadErrorAt { read }]);
            self.run(format!("read error at read {read}"), flash, self.fw(), true);
        }
    }

    /// ECC on: cuts tear words, which then read as errors until erased.
    fn ecc_cuts(&mut self) {
        let indices: Vec<u64> = (self.first..self.first + self.log.len() as u64).collect();
        for at in spread(&indices, 2 * POINTS) {
            let mut flash = self.start.clone();
            flash.set_ecc(true);
            flash.inject(Fault::PowerCut {
                at,
                mode: CutMode::During,
            });
            let name = format!("ECC on, cut during mutation {at}");
            self.run(name, flash, self.fw(), true);
        }
    }

    /// Writes and erases reported failed that landed, the confirm record included. A journal
    /// append moves past one such failure to its next slot; failing all its attempts in a row
    /// fails the append, and the firmware then retries a failed confirm, or cancels and
    /// applies again.
    fn failed_but_landed(&mut self) {
        const APPEND: u64 = journal::WRITE_ATTEMPTS as u64;
        const JOURNAL: [(u64, OnConfirmError); 3] = [
            (1, OnConfirmError::Retry),
            (APPEND, OnConfirmError::Retry),
            (APPEND, OnConfirmError::Cancel),
        ];
        for i in 0..self.log.len() {
            let at = self.first + i as u64;
            let cases: &[(u64, OnConfirmError)] =
                if inside(self.case.layout.state, self.log[i].range().start) {
                    &JOURNAL
                } else {
                    &[(1, OnConfirmError::Retry)]
                };
            for &(count, reaction) in cases {
                let flash = self.faulty((at..at + count).map(|at| Fault::FailedButLanded { at }));
                let name = format!(
                    "mutations {at}..{} reported failed but landed, confirm error: {reaction:?}",
                    at + count
                );
                self.run(name, flash, self.fw().on_confirm_error(reaction), true);
            }
        }
    }

    /// Bit flips in retained data: slot B bytes already programmed while the update is
    /// interrupted (the read-back in finish catches them) ...
    fn retained_bit_flips(&mut self) {
        let slot_b_writes = writes_into(&self.log, self.first, self.case.layout.slot_b);
        for &(at, _, _) in spread(&slot_b_writes, POINTS).iter().skip(1) {
            let Some(&(_, addr, _)) = slot_b_writes.iter().find(|w| w.0 < at) else {
                continue;
            };
            let flash = self.faulty([
                Fault::PowerCut {
                    at,
                    mode: CutMode::Before,
                },
                Fault::BitFlip {
                    addr,
                    mask: 0x04,
                    at_reboot: 0,
                },
            ]);
            let name = format!("bit flip in slot B at {addr:#x} after a cut at {at}");
            self.run(name, flash, self.fw(), true);
        }
        if let Some(&(_, addr, _)) = slot_b_writes.first() {
            self.pending_slot_b_flip(addr);
        }
        self.journal_bit_flips();
    }

    /// ... slot B after the update became pending, with the trial slot checked at boot (the
    /// default policy relies on the check in `finish` and would boot the flipped byte) ...
    fn pending_slot_b_flip(&mut self, addr: u32) {
        let flash = self.faulty([
            Fault::PowerCut {
                at: self.drive.boot_marks[1],
                mode: CutMode::Before,
            },
            Fault::BitFlip {
                addr,
                mask: 0x10,
                at_reboot: 0,
            },
        ]);
        let checking = BootPolicy {
            verify_trial_boot: true,
            ..self.case.policy
        };
        self.run(
            format!("bit flip in pending slot B at {addr:#x}, verify-trial-boot"),
            flash,
            self.fw().with_policy(checking),
            true,
        );
    }

    /// ... and journal records.
    fn journal_bit_flips(&mut self) {
        let journal_writes = writes_into(&self.log, self.first, self.case.layout.state);
        for (at, addr, _) in spread(&journal_writes, POINTS) {
            let flash = self.faulty([
                Fault::PowerCut {
                    at: at + 1,
                    mode: CutMode::Before,
                },
                Fault::BitFlip {
                    addr: addr + 4,
                    mask: 0x10,
                    at_reboot: 0,
                },
            ]);
            let name = format!("bit flip in the journal record written at {at}");
            self.run(name, flash, self.fw(), true);
        }
    }

    /// Torn erases at chosen positions.
    fn torn_erases(&mut self) {
        let erases: Vec<(u64, u32)> = self
            .log
            .iter()
            .enumerate()
            .filter_map(|(i, op)| match op {
                FlashOp::Erase { from, to } => Some((self.first + i as u64, to - from)),
                FlashOp::Write { .. } => None,
            })
            .collect();
        for (at, len) in spread(&erases, POINTS) {
            for done in [0, len / 2, len.saturating_sub(1)] {
                let flash = self.faulty([Fault::TornCut { at, done }]);
                let name = format!("erase at {at} torn after {done} bytes");
                self.run(name, flash, self.fw(), true);
            }
        }
    }

    /// Several random power cuts in one update.
    fn random_cuts(&mut self) {
        let gap = (self.log.len() as u64 / CUTS_PER_SCHEDULE as u64).max(1);
        for seed in SEEDS {
            let mut flash = self.start.clone();
            flash.inject_all(FaultPlan::random_cuts(
                seed,
                self.first,
                CUTS_PER_SCHEDULE,
                gap,
            ));
            let name = format!("{CUTS_PER_SCHEDULE} random cuts, seed {seed}");
            self.run(name, flash, self.fw(), true);
        }
    }

    /// A dead cell in slot B: the update cannot complete; the old model must keep booting.
    /// A dead cell in the journal must not stop it: an append moves past a slot that does
    /// not take its record.
    fn dead_cell(&mut self) {
        let journal_writes = writes_into(&self.log, self.first, self.case.layout.state);
        for (_, addr, mask) in spread(&journal_writes, POINTS) {
            let flash = self.faulty([Fault::WeakCell { addr, mask }]);
            let name = format!("dead cell in the journal at {addr:#x}");
            self.run(name, flash, self.fw(), true);
        }
        let new = &self.case.new;
        if let Some(i) = new.iter().position(|&b| b != 0xFF) {
            let flash = self.faulty([Fault::WeakCell {
                addr: self.case.layout.slot_b.offset + i as u32,
                mask: !new[i],
            }]);
            self.run(
                format!("dead cell in slot B at byte {i}"),
                flash,
                self.fw(),
                false,
            );
        }
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
