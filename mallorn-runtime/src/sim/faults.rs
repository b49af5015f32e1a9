//! The fault catalogue of the simulated NOR flash: what can go wrong on a real part, as
//! typed [`Fault`]s, a [`FaultPlan`] that lists them (with seeded generators), and the
//! [`FaultCounts`] of what actually fired. [`SimFlash`](super::SimFlash) applies them.
//!
//! Faults name their moment by operation index, the same lifetime counters as
//! [`OpCounts`](super::OpCounts): a *mutation* index counts writes and erases together
//! (the index space of [`SimFlash::cut_power_at`](super::SimFlash::cut_power_at) and of an
//! operation log), a *read* index counts reads, a *reboot* index counts calls to
//! [`SimFlash::reboot`](super::SimFlash::reboot) (the first reboot is 0). Addresses are
//! absolute byte offsets in the flash. Everything is deterministic: the same plan on the
//! same operations leaves the same contents and the same errors.

use std::vec::Vec;

use super::flash::CutMode;

/// One thing a real NOR part can do wrong.
///
/// NOR cells only move one way without an erase: programming clears bits (1 to 0), erasing
/// sets a whole sector back to 1s. Every fault below stays inside that physics: a stuck bit
/// stays 1, a torn program has cleared only some bits, a torn erase has only raised some.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Power is lost at mutation `at`, like [`SimFlash::cut_power_at`](super::SimFlash::cut_power_at),
    /// but the cut stays armed across reboots until it fires: several of them form a
    /// schedule of cuts in one update (each later cut fires during the recovery from the
    /// earlier ones). With [`CutMode::During`] the point inside the operation derives from
    /// `at`, exactly as a [`SimFlash::replay_interrupted`](super::SimFlash::replay_interrupted)
    /// of the same operation at the same index.
    ///
    /// Models: brown-out or battery removal at any moment of an update.
    PowerCut {
        /// Mutation index.
        at: u64,
        /// Before the operation or in its middle.
        mode: CutMode,
    },
    /// Power is lost in the middle of mutation `at` after exactly `done` bytes of it
    /// completed (clamped to the operation's length). A write has programmed `done` bytes
    /// and half-programmed the next one; an erase has erased `done` bytes and left the rest
    /// of its range half-erased (bits only raised, never lowered). Stays armed across
    /// reboots like [`Fault::PowerCut`].
    ///
    /// Models: a cut at a chosen point of a program or erase (the tear position a
    /// [`CutMode::During`] cut derives from its index, chosen instead). On a real part the
    /// cells of one sector erase together, so a tear inside a sector is a simplification
    /// of a multi-sector erase stopped part-way; `done` at a sector boundary (0 included)
    /// gives the physical picture: earlier sectors erased, the current one wholly
    /// half-erased.
    TornCut {
        /// Mutation index.
        at: u64,
        /// Bytes of the operation that completed before power went.
        done: u32,
    },
    /// Write mutation `at`, if it covers byte `addr`, leaves the bits of `mask` that it
    /// should have cleared at 1, and still reports success.
    ///
    /// Models: a silent program failure, a program pulse too weak for some cells (drivers
    /// rarely read back after programming, and many parts do not verify internally).
    StuckBits {
        /// Mutation index of the write.
        at: u64,
        /// Absolute byte address.
        addr: u32,
        /// Bits that stay 1.
        mask: u8,
    },
    /// Every write covering byte `addr` leaves the bits of `mask` at 1 and reports success;
    /// the cell still erases normally.
    ///
    /// Models: a worn-out or weak cell that no longer programs (end of endurance, a
    /// manufacturing defect that escaped test).
    WeakCell {
        /// Absolute byte address.
        addr: u32,
        /// Bits that never program.
        mask: u8,
    },
    /// A read covering byte `addr` fails with an error (`NorFlashErrorKind::Other`) and
    /// returns nothing; with [`Persistence::Once`] only the first such read, with
    /// [`Persistence::Always`] every one.
    ///
    /// Models: once, a bus or signal-integrity glitch (QSPI CRC error, a timeout) that a
    /// retry clears; always, a dead location or a controller that reports an
    /// uncorrectable error there (erasing does not heal it).
    ReadError {
        /// Absolute byte address.
        addr: u32,
        /// One read, or every read.
        persistence: Persistence,
    },
    /// Read operation `read` fails with an error, wherever it reads.
    ///
    /// Models: a transient read failure at a chosen moment of an update (bus glitch,
    /// controller timeout).
    ReadErrorAt {
        /// Read index.
        read: u64,
    },
    /// Mutation `at` (write or erase) completes fully but reports an error.
    ///
    /// Models: a part whose status register flags a program or erase failure (or a
    /// verify, status read or bus transfer that fails) after the cells did change. A
    /// retry of a write in place then targets programmed units, which a real part would
    /// AND into garbage; the simulator refuses it ([`SimError::NotErased`](super::SimError::NotErased)).
    FailedButLanded {
        /// Mutation index.
        at: u64,
    },
    /// The bits of `mask` in byte `addr` flip (both directions) while the power is off,
    /// just before reboot number `at_reboot` brings it back.
    ///
    /// Models: retention loss (charge leaking from programmed cells, 0 to 1) and read or
    /// program disturb (erased cells picking up charge, 1 to 0) in data kept across power
    /// cycles. [`SimFlash::flip_bits`](super::SimFlash::flip_bits) flips bits between any
    /// two operations.
    BitFlip {
        /// Absolute byte address.
        addr: u32,
        /// Bits that flip.
        mask: u8,
        /// Reboot index.
        at_reboot: u64,
    },
}

/// How long a [`Fault::ReadError`] lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// The first read that covers the address fails; later ones succeed.
    Once,
    /// Every read that covers the address fails.
    Always,
}

/// A list of faults to inject into a [`SimFlash`](super::SimFlash), in any order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    faults: Vec<Fault>,
}

impl FaultPlan {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// The plan with `fault` added.
    #[must_use]
    pub fn with(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Adds a fault.
    pub fn push(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// The faults, in the order they were added.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// A schedule of `count` power cuts from seed `seed`: the first at a mutation index in
    /// `first..first + max_gap`, each next one 1 to `max_gap` mutations after the previous,
    /// each [`CutMode::Before`] or [`CutMode::During`]. The same seed gives the same plan.
    ///
    /// # Panics
    /// If `max_gap` is 0.
    pub fn random_cuts(seed: u64, first: u64, count: usize, max_gap: u64) -> Self {
        assert!(max_gap > 0, "max_gap must be at least 1");
        let mut rng = SplitMix64::new(seed);
        let mut plan = Self::new();
        let mut at = first + rng.below(max_gap);
        for _ in 0..count {
            let mode = if rng.next() & 1 == 0 {
                CutMode::Before
            } else {
                CutMode::During
            };
            plan.push(Fault::PowerCut { at, mode });
            at += 1 + rng.below(max_gap);
        }
        plan
    }

    /// The mutation indices of the plan's power cuts ([`Fault::PowerCut`] and
    /// [`Fault::TornCut`]), ascending.
    pub fn cut_indices(&self) -> Vec<u64> {
        let mut cuts: Vec<u64> = self
            .faults
            .iter()
            .filter_map(|fault| match *fault {
                Fault::PowerCut { at, .. } | Fault::TornCut { at, .. } => Some(at),
                _ => None,
            })
            .collect();
        cuts.sort_unstable();
        cuts
    }
}

impl FromIterator<Fault> for FaultPlan {
    fn from_iter<I: IntoIterator<Item = Fault>>(iter: I) -> Self {
        Self {
            faults: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for FaultPlan {
    type Item = Fault;
    type IntoIter = std::vec::IntoIter<Fault>;

    fn into_iter(self) -> Self::IntoIter {
        self.faults.into_iter()
    }
}

/// How many faults fired, by kind. A fault counts only when it changed something: a stuck
/// bit that the write wanted at 1 anyway, or a flip with an empty mask, does not count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Power cuts, armed by [`SimFlash::cut_power_at`](super::SimFlash::cut_power_at) or by
    /// the plan.
    pub power_cuts: u64,
    /// Writes that left at least one bit unprogrammed ([`Fault::StuckBits`],
    /// [`Fault::WeakCell`]), counted once per fault per write.
    pub stuck_programs: u64,
    /// Reads failed by [`Fault::ReadError`] or [`Fault::ReadErrorAt`].
    pub read_errors: u64,
    /// Mutations that completed but reported an error ([`Fault::FailedButLanded`]).
    pub failed_but_landed: u64,
    /// Bit flips applied ([`Fault::BitFlip`], [`SimFlash::flip_bits`](super::SimFlash::flip_bits)),
    /// one per byte flipped.
    pub bit_flips: u64,
    /// Reads refused by the ECC model (a torn unit, or two or more bits wrong in a unit).
    /// A consequence of other faults, not an injection: not part of [`Self::injected`].
    pub ecc_uncorrectable: u64,
    /// Reads in which the ECC model corrected a single wrong bit in a unit. Not part of
    /// [`Self::injected`].
    pub ecc_corrected: u64,
}

impl FaultCounts {
    /// Faults injected: every counter except the ECC observations.
    pub fn injected(&self) -> u64 {
        self.power_cuts
            + self.stuck_programs
            + self.read_errors
            + self.failed_but_landed
            + self.bit_flips
    }
}

/// SplitMix64: a tiny deterministic generator for seeded plans.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_cuts_are_seeded_ascending_and_spaced() {
        let plan = FaultPlan::random_cuts(7, 10, 20, 5);
        assert_eq!(plan, FaultPlan::random_cuts(7, 10, 20, 5));
        assert_ne!(plan, FaultPlan::random_cuts(8, 10, 20, 5));
        let cuts = plan.cut_indices();
        assert_eq!(cuts.len(), 20);
        assert!((10..15).contains(&cuts[0]));
        for pair in cuts.windows(2) {
            assert!((1..=5).contains(&(pair[1] - pair[0])), "{pair:?}");
        }
        let modes = plan.faults().iter().filter(|f| {
            matches!(
                f,
                Fault::PowerCut {
                    mode: CutMode::During,
                    ..
                }
            )
        });
        let during = modes.count();
        assert!(during > 0 && during < 20, "both modes drawn: {during}");
    }

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs of SplitMix64 seeded with 0 (Vigna's reference implementation).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn injected_excludes_ecc_observations() {
        let counts = FaultCounts {
            power_cuts: 1,
            stuck_programs: 2,
            read_errors: 3,
            failed_but_landed: 4,
            bit_flips: 5,
            ecc_uncorrectable: 100,
            ecc_corrected: 100,
        };
        assert_eq!(counts.injected(), 15);
    }
}
