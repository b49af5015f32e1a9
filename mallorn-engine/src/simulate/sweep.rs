//! The power-cut sweep: a clean run records the flash mutation log; then, for every mutation
//! index (or every k-th with a sample), power is cut before the mutation and in its middle,
//! and the firmware drives the device from there to the end. Run once per [`Script`], so cuts
//! land in applying, trial boots, confirm, cancel and revert; and a second cut lands in the
//! first operations of the recovery from a first one.

use mallorn_runtime::sim::{CutMode, Fault, FlashOp, SimFlash};

use crate::simulate::firmware::{Case, Drive, Firmware, MAX_BOOTS, Script, Violation};
use crate::simulate::report::Tally;

/// The scripts every bundle is swept with.
pub const SCRIPTS: [Script; 3] = [Script::Straight, Script::CancelTrial, Script::RevertTrial];

/// Offsets (in mutations) after the first cut's reboot at which the second cut of a double
/// cut lands: the journal recovery's first writes and erases.
const SECOND_CUT_AFTER: [u64; 3] = [0, 1, 3];

/// The clean run of `script`: its mutation log and the mutation index it starts at, or the
/// violation that stopped it.
pub fn clean_run<const W: usize, const E: usize>(
    case: &Case,
    start: &SimFlash<W, E, 1>,
    script: Script,
) -> Result<(u64, Vec<FlashOp>, Drive), Violation> {
    let mut clean = start.clone();
    let first = clean.counts().mutations();
    clean.record();
    let drive = Firmware::new(case, script).run(&mut clean, MAX_BOOTS)?;
    Ok((first, clean.take_log(), drive))
}

/// Sweeps every `sample`-th mutation of each script's clean run.
pub fn sweep<const W: usize, const E: usize>(case: &Case, sample: usize, tally: &mut Tally) {
    let start = case.provisioned::<W, E>();
    for script in SCRIPTS {
        let (first, log) = match clean_run(case, &start, script) {
            Ok((first, log, _)) => (first, log),
            Err(violation) => {
                tally.record(case, || format!("{script:?}, no fault"), Err(violation));
                continue;
            }
        };
        tally.record(case, || format!("{script:?}, no fault"), Ok(()));
        for i in (0..log.len()).step_by(sample.max(1)) {
            let at = first + i as u64;
            for mode in [CutMode::Before, CutMode::During] {
                let mut flash = start.clone();
                // A plan cut: unlike `cut_power_at`, it stays armed across the firmware's
                // resets until it fires.
                flash.inject(Fault::PowerCut { at, mode });
                let outcome = Firmware::new(case, script)
                    .run(&mut flash, MAX_BOOTS)
                    .map(|_| ());
                tally.cut_points += 1;
                tally.record(
                    case,
                    || format!("{script:?}, cut {mode:?} mutation {i}"),
                    outcome,
                );
            }
            // A second cut in the recovery from a cut during this mutation.
            if script == Script::Straight && i % (4 * sample.max(1)) == 0 {
                for after in SECOND_CUT_AFTER {
                    let outcome = double_cut(case, &start, at, after);
                    tally.cut_points += 2;
                    tally.record(
                        case,
                        || format!("{script:?}, cut During mutation {i}, then During recovery mutation {after}"),
                        outcome,
                    );
                }
            }
        }
    }
}

/// Cuts during mutation `at`, reboots, cuts again during the `after`-th mutation of the
/// recovery, then drives to the end.
fn double_cut<const W: usize, const E: usize>(
    case: &Case,
    start: &SimFlash<W, E, 1>,
    at: u64,
    after: u64,
) -> Result<(), Violation> {
    let mut flash = start.clone();
    flash.inject(Fault::PowerCut {
        at,
        mode: CutMode::During,
    });
    let mut firmware = Firmware::new(case, Script::Straight);
    // One power cycle at a time until the first cut fired.
    for _ in 0..MAX_BOOTS {
        if flash.fault_counts().power_cuts > 0 {
            break;
        }
        match firmware.run(&mut flash, 1) {
            Ok(_) => return Ok(()),
            Err(Violation::Wedged(_)) => {}
            Err(violation) => return Err(violation),
        }
    }
    flash.inject(Fault::PowerCut {
        at: flash.counts().mutations() + after,
        mode: CutMode::During,
    });
    firmware.run(&mut flash, MAX_BOOTS).map(|_| ())
}
