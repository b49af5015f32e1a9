//! The tally of a simulation: runs, cut points, faults injected, broken invariants (with the
//! first failing cases), and the one summary line the command prints.

use crate::simulate::firmware::{Case, Violation};

/// Failing cases kept for the report (the counts go on).
pub const KEPT_FAILURES: usize = 10;

/// One run that broke an invariant.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `sku/model: bundle`.
    pub case: String,
    /// The scenario: script and fault.
    pub scenario: String,
    /// What broke.
    pub violation: Violation,
}

/// Counts of a simulation (or of a part of it).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Runs: each drives one device from a fresh provisioning to its end.
    pub runs: u64,
    /// Power-cut points of the sweeps (each mutation index, before and during).
    pub cut_points: u64,
    /// Faults that fired in the fault-catalogue runs (power cuts of several-cut schedules
    /// included).
    pub faults: u64,
    /// Runs whose journal stopped opening.
    pub bricked: u64,
    /// Runs whose genuine update did not reach the new model confirmed.
    pub wedged: u64,
    /// Runs in which a boot would have loaded neither model exactly.
    pub mixed: u64,
    /// Runs with a device fault that makes the update impossible (a dead cell), which kept
    /// the old model booting as they must.
    pub unfinishable: u64,
    /// The first failing runs.
    pub failures: Vec<Failure>,
}

impl Tally {
    /// Records the outcome of one run of `case` under `scenario`.
    pub fn record(
        &mut self,
        case: &Case,
        scenario: impl FnOnce() -> String,
        outcome: Result<(), Violation>,
    ) {
        self.runs += 1;
        let Err(violation) = outcome else {
            return;
        };
        match violation {
            Violation::Bricked(_) => self.bricked += 1,
            Violation::Mixed(_) => self.mixed += 1,
            Violation::Wedged(_) => self.wedged += 1,
        }
        if self.failures.len() < KEPT_FAILURES {
            self.failures.push(Failure {
                case: case.label(),
                scenario: scenario(),
                violation,
            });
        }
    }

    /// Adds `other`'s counts (and failures, up to the limit).
    pub fn merge(&mut self, other: Tally) {
        self.runs += other.runs;
        self.cut_points += other.cut_points;
        self.faults += other.faults;
        self.bricked += other.bricked;
        self.wedged += other.wedged;
        self.mixed += other.mixed;
        self.unfinishable += other.unfinishable;
        let room = KEPT_FAILURES.saturating_sub(self.failures.len());
        self.failures.extend(other.failures.into_iter().take(room));
    }

    /// True when no invariant broke.
    pub fn passed(&self) -> bool {
        self.bricked == 0 && self.wedged == 0 && self.mixed == 0
    }

    /// `simulate: N runs, C cut points, F faults injected, 0 bricked, 0 wedged, 0 mixed`.
    pub fn summary_line(&self) -> String {
        format!(
            "simulate: {} runs, {} cut points, {} faults injected, {} bricked, {} wedged, {} mixed",
            self.runs, self.cut_points, self.faults, self.bricked, self.wedged, self.mixed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mixed_run_is_counted_and_kept() {
        let case = crate::simulate::tests::tiny_case();
        let mut tally = Tally::default();
        tally.record(&case, || "clean".into(), Ok(()));
        tally.record(
            &case,
            || "cut 3 during".into(),
            Err(Violation::Mixed("half and half".into())),
        );
        assert_eq!(
            (tally.runs, tally.mixed, tally.bricked, tally.wedged),
            (2, 1, 0, 0)
        );
        assert!(!tally.passed());
        assert_eq!(tally.failures[0].scenario, "cut 3 during");
        assert_eq!(
            tally.summary_line(),
            "simulate: 2 runs, 0 cut points, 0 faults injected, 0 bricked, 0 wedged, 1 mixed"
        );
    }
}
