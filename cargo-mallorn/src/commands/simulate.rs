//! `cargo mallorn simulate`: builds the bundles as `build` does (into a temporary directory)
//! and runs each one on a simulated flash with its SKU's geometry and slot layout, through
//! power cuts at every flash mutation and the fault catalogue (see docs/simulate.md). Prints
//! one summary line on stdout, progress and failing cases on stderr; exits 1 when a run
//! bricked, wedged or mixed.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use mallorn_engine::simulate::{
    self, Case, SimulateError, SimulateObserver, SimulateOptions, Tally,
};

use crate::cli::GlobalArgs;
use crate::commands::build::build_error;
use crate::exit;

/// Arguments of `cargo mallorn simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Simulate only this target (SKU); repeat for several. Default: every `[[target]]`.
    #[arg(long = "target", value_name = "SKU")]
    pub targets: Vec<String>,
    /// Cut power at every N-th flash mutation of the sweep only (default 1: every one).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub sample: usize,
    /// Worker threads (default: one per CPU).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
}

/// Progress on stderr: one line per bundle.
struct Progress {
    total: AtomicUsize,
    done: AtomicUsize,
    started: Instant,
}

impl SimulateObserver for Progress {
    fn starting(&self, count: usize) {
        self.total.store(count, Ordering::Relaxed);
        diagln!("simulating {count} bundles");
    }

    fn bundle_done(&self, case: &Case, tally: &Tally) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        diagln!(
            "[{done}/{}] {}: {} runs, {} cut points, {} faults, {} trial boots{}{} ({:.1}s)",
            self.total.load(Ordering::Relaxed),
            case.label(),
            tally.runs,
            tally.cut_points,
            tally.faults,
            case.policy.trial_boots,
            if case.policy.verify_trial_boot {
                " verified"
            } else {
                ""
            },
            if tally.passed() { "" } else { ", FAILED" },
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// Runs the simulation.
pub fn run(args: Args, global: &GlobalArgs) -> super::CommandResult {
    let loaded = crate::manifest::load_valid(global)?;
    let options = SimulateOptions {
        targets: args.targets,
        sample: args.sample.max(1),
        threads: args
            .jobs
            .unwrap_or_else(mallorn_engine::parallel::default_threads)
            .max(1),
    };
    let progress = Progress {
        total: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        started: Instant::now(),
    };
    let tally = simulate::simulate(&loaded, &options, &progress).map_err(|error| match error {
        SimulateError::Build(error) => build_error(error),
        other => miette::Report::msg(other.to_string()),
    })?;
    for failure in &tally.failures {
        diagln!(
            "failed: {} ({}): {}",
            failure.case,
            failure.scenario,
            failure.violation
        );
    }
    if tally.unfinishable > 0 {
        diagln!(
            "{} runs with a dead cell in the model's slot could not finish and kept the old model booting, as they must",
            tally.unfinishable
        );
    }
    diagln!("done in {:.1}s", progress.started.elapsed().as_secs_f64());
    outln!("{}", tally.summary_line());
    Ok(if tally.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILURE)
    })
}
