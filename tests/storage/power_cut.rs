//! Exhaustive power cuts: for every flash operation that changes the contents (every erase
//! and write) of a complete update (download, finish, trial boot, confirm), cut power just
//! before it and in its middle, reboot, and check that the device would load exactly the old
//! or exactly the new model, that the journal opens, and that resuming ends with the new
//! model confirmed. Reads are not cut points: a cut during a read leaves the same contents
//! as a cut before the next erase or write.
//!
//! Small pairs are cut live. The large pair replays the clean run's operation log to rebuild
//! the contents at each cut point instead of re-running the update up to it (checked against
//! live cuts at sample points); the recovery after each cut always runs live.

use std::time::Instant;

use mallorn_engine::delta::DeltaCodec;

use mallorn_runtime::sim::{CutMode, FlashOp, SimFlash};

use crate::common::{
    Drive, Rig, Source, corpus_pair, drive_to_new, next_release, report, synthetic_model,
};

/// An odd fragment size, so chunk boundaries fall inside fragments.
const FRAGMENTS: &[usize] = &[1500];

#[derive(Debug, Default)]
struct Coverage {
    /// Erases and writes of the clean run.
    erases: usize,
    writes: usize,
    cut_points: usize,
    resumed_mid_update: usize,
    reverted_trials: usize,
}

impl Coverage {
    fn add(&mut self, drive: &Drive) {
        self.cut_points += 1;
        self.resumed_mid_update += usize::from(drive.resumed_at.iter().any(|&at| at > 0));
        self.reverted_trials += usize::from(drive.reverted);
    }

    fn clean_run(log: &[FlashOp]) -> Self {
        let erases = log
            .iter()
            .filter(|op| matches!(op, FlashOp::Erase { .. }))
            .count();
        Self {
            erases,
            writes: log.len() - erases,
            ..Self::default()
        }
    }

    fn merge(&mut self, other: Coverage) {
        self.cut_points += other.cut_points;
        self.resumed_mid_update += other.resumed_mid_update;
        self.reverted_trials += other.reverted_trials;
    }
}

/// Mutations of a clean run (the operation log), and checks that it never touches slot A,
/// which holds the old model.
fn clean_run<const W: usize, const E: usize, const R: usize>(
    rig: &Rig<W, E, R>,
    start: &SimFlash<W, E, R>,
    source: Source<'_>,
) -> Vec<FlashOp> {
    let mut clean = start.clone();
    clean.record();
    let drive = drive_to_new(&mut clean, rig, source).unwrap();
    assert_eq!(drive.boots, 3, "apply, trial boot, confirmed boot");
    rig.assert_new_confirmed(&mut clean);
    let log = clean.take_log();
    let slot_a = rig.layout.slot_a;
    for op in &log {
        let range = op.range();
        assert!(
            range.end <= u64::from(slot_a.offset) || range.start >= slot_a.end(),
            "the update wrote into the active slot: {range:?}"
        );
    }
    log
}

/// Cuts power live at every mutation of the clean run. With `double`, cuts power a second
/// time at every mutation of each recovery.
fn every_cut_live<const W: usize, const E: usize, const R: usize>(
    rig: &Rig<W, E, R>,
    start: &SimFlash<W, E, R>,
    source: Source<'_>,
    double: bool,
) -> Coverage {
    let log = clean_run(rig, start, source);
    let ops = log.len() as u64;
    let first = start.counts().mutations();
    let mut coverage = Coverage::clean_run(&log);
    for at in first..first + ops {
        for mode in [CutMode::Before, CutMode::During] {
            let mut flash = start.clone();
            flash.cut_power_at(at, mode);
            assert!(
                drive_to_new(&mut flash, rig, source).is_err(),
                "no cut at {at}"
            );
            flash.reboot();
            if double {
                let mut clean = flash.clone();
                let recovery_start = clean.counts().mutations();
                drive_to_new(&mut clean, rig, source).unwrap();
                for again in recovery_start..clean.counts().mutations() {
                    let mut twice = flash.clone();
                    twice.cut_power_at(again, CutMode::During);
                    assert!(drive_to_new(&mut twice, rig, source).is_err());
                    twice.reboot();
                    let drive = drive_to_new(&mut twice, rig, source)
                        .unwrap_or_else(|e| panic!("cut at {at} {mode:?} then {again}: {e}"));
                    rig.assert_new_confirmed(&mut twice);
                    coverage.add(&drive);
                }
            }
            let drive = drive_to_new(&mut flash, rig, source)
                .unwrap_or_else(|e| panic!("cut at {at} {mode:?}: {e}"));
            rig.assert_new_confirmed(&mut flash);
            assert_eq!(flash.refused_writes(), 0);
            coverage.add(&drive);
        }
    }
    coverage
}

/// Rebuilds the contents at every cut point from the clean run's log, in parallel slices.
fn every_cut_replayed<const W: usize, const E: usize, const R: usize>(
    rig: &Rig<W, E, R>,
    source: Source<'_>,
) -> Coverage {
    let log = clean_run(rig, &rig.start, source);
    let first = rig.start.counts().mutations();
    let state_at = |i: usize, mode: CutMode| {
        let mut flash = rig.start.clone();
        for op in &log[..i] {
            flash.replay(op).unwrap();
        }
        if mode == CutMode::During {
            flash.replay_interrupted(&log[i], first + i as u64).unwrap();
        }
        flash
    };
    // The replayed contents are those of a live cut.
    for i in (0..log.len()).step_by(log.len() / 5 + 1) {
        let mut live = rig.start.clone();
        live.cut_power_at(first + i as u64, CutMode::During);
        assert!(drive_to_new(&mut live, rig, source).is_err());
        assert!(
            live.bytes() == state_at(i, CutMode::During).bytes(),
            "replay differs at {i}"
        );
    }
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let per_thread = log.len().div_ceil(threads);
    let mut coverage = Coverage::clean_run(&log);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let range = t * per_thread..((t + 1) * per_thread).min(log.len());
                let log = &log;
                scope.spawn(move || {
                    let mut coverage = Coverage::default();
                    if range.is_empty() {
                        return coverage;
                    }
                    let mut prefix = state_at(range.start, CutMode::Before);
                    for i in range {
                        for mode in [CutMode::Before, CutMode::During] {
                            let mut flash = prefix.clone();
                            if mode == CutMode::During {
                                flash.replay_interrupted(&log[i], first + i as u64).unwrap();
                            }
                            flash.reboot();
                            let drive = drive_to_new(&mut flash, rig, source)
                                .unwrap_or_else(|e| panic!("cut at op {i} {mode:?}: {e}"));
                            rig.assert_new_confirmed(&mut flash);
                            assert_eq!(flash.refused_writes(), 0);
                            coverage.add(&drive);
                        }
                        prefix.replay(&log[i]).unwrap();
                    }
                    coverage
                })
            })
            .collect();
        for worker in workers {
            coverage.merge(worker.join().unwrap());
        }
    });
    coverage
}

fn print(name: &str, coverage: &Coverage, started: Instant) {
    report(&format!(
        "power cuts, {name}: clean run {} erases + {} writes; {} cut points covered \
         ({} resumed mid-update, {} reverted a trial) in {:.1} s",
        coverage.erases,
        coverage.writes,
        coverage.cut_points,
        coverage.resumed_mid_update,
        coverage.reverted_trials,
        started.elapsed().as_secs_f64()
    ));
}

#[test]
fn tflm_micro_speech_every_cut_and_every_second_cut() {
    let Some((old, new)) = corpus_pair(
        "tflm-micro-speech",
        "2021-08-12.tflite",
        "2022-04-08.tflite",
    ) else {
        return;
    };
    let started = Instant::now();
    // 1 KiB erase blocks, 4-byte writes, 4-byte aligned reads: 19 chunks.
    let rig = Rig::<4, 1024, 4>::new(old, new);
    let coverage = every_cut_live(&rig, &rig.start, Source::Download(FRAGMENTS), true);
    assert!(coverage.cut_points > 1000);
    assert!(coverage.resumed_mid_update > 0);
    print("tflm-micro-speech (double cuts)", &coverage, started);
}

#[test]
fn microwakeword_okay_nabu_every_cut() {
    let Some((old, new)) = corpus_pair(
        "microwakeword-okay-nabu",
        "v2-2024-07-10.tflite",
        "v2-2024-10-01.tflite",
    ) else {
        return;
    };
    let started = Instant::now();
    let rig = Rig::<8, 4096, 1>::new(old, new);
    let coverage = every_cut_live(&rig, &rig.start, Source::Download(FRAGMENTS), false);
    assert!(coverage.resumed_mid_update > 0);
    print("microwakeword-okay-nabu", &coverage, started);
}

#[test]
fn silero_vad_every_cut() {
    let Some((old, new)) = corpus_pair("silero-vad", "v5.1.onnx", "v6.0.onnx") else {
        return;
    };
    let started = Instant::now();
    // The fast codec: recovery from each of the ~3,500 cuts decodes the rest of the update,
    // and the journal's behaviour does not depend on the codec (the small pairs above use the
    // smallest codec).
    let rig = Rig::<8, 4096, 1>::with_coder(old, new, DeltaCodec::Fast);
    let coverage = every_cut_replayed(&rig, Source::Download(FRAGMENTS));
    assert!(coverage.cut_points > 2000);
    assert!(coverage.resumed_mid_update > 1000);
    print("silero-vad v5.1 -> v6.0 (2.3 MB)", &coverage, started);
}

/// Always runs, corpus or not: small erase blocks (a journal bank spans two of them),
/// 16-byte writes and aligned reads, with the bundle applied from the staging region.
#[test]
fn synthetic_staged_every_cut() {
    let old = synthetic_model(9000, 1);
    let new = next_release(&old, 2);
    let started = Instant::now();
    let rig = Rig::<16, 256, 8>::new(old, new);
    let start = rig.staged_start();
    let coverage = every_cut_live(&rig, &start, Source::Staged, false);
    assert!(coverage.resumed_mid_update > 0);
    print("synthetic, staged", &coverage, started);
}
