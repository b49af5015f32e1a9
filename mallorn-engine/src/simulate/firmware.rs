//! The firmware-like driver: what a device does at each power cycle (open the journal, boot,
//! load the model it points at, confirm a trial or cancel it, begin or resume the update,
//! feed it in fragments, finish), and the invariant checks made on the way: the journal
//! opens (not bricked), every boot loads exactly the old or exactly the new model (not
//! mixed), the genuine update ends with the new model confirmed within [`MAX_BOOTS`] (not
//! wedged).

use mallorn_runtime::Error;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNATURE_LEN};
use mallorn_runtime::hash::sha256;
use mallorn_runtime::sim::SimFlash;
use mallorn_runtime::storage::{
    BootDecision, BootKind, BootPolicy, FlashLayout, Phase, Slot, SlotImage, Updater,
    VerifyingAdmit,
};
use mallorn_runtime::verify::TrustedKey;

/// Payload bytes per `feed` call: odd, so chunk and segment boundaries fall inside fragments.
pub const FRAGMENT: usize = 1021;

/// Power cycles a drive may take before it counts as wedged.
pub const MAX_BOOTS: u32 = 32;

/// Consecutive power cycles whose journal fails to open before the device counts as bricked
/// (one failure can be a transient read error).
const OPEN_ATTEMPTS: u32 = 3;

/// One published bundle on one simulated device: the flash window that holds the model's
/// slots and journal (offsets rebased to it), the models, and what admission trusts.
#[derive(Debug, Clone)]
pub struct Case {
    /// The SKU.
    pub sku: String,
    /// The model.
    pub model: String,
    /// The bundle's path in the output directory.
    pub bundle_path: String,
    /// Write unit of the SKU's flash.
    pub write_size: usize,
    /// Erase unit of the SKU's flash.
    pub erase_size: usize,
    /// The model's layout (the generated `LAYOUT`), rebased to the window.
    pub layout: FlashLayout,
    /// Bytes of the simulated window (slots and journal of this model).
    pub capacity: usize,
    /// Where the window starts in the SKU's flash (offset from the flash base).
    pub window_offset: u64,
    /// The model the device holds before the update (the bundle's base, or the oldest
    /// release for a full image).
    pub old: Vec<u8>,
    /// The latest release.
    pub new: Vec<u8>,
    /// The signed bundle as published.
    pub bundle: Vec<u8>,
    /// Counter the device was provisioned with (the old release's).
    pub old_counter: u64,
    /// Counter the bundle carries.
    pub new_counter: u64,
    /// The SKU id admission checks.
    pub sku_id: [u8; 8],
    /// The model id admission checks.
    pub model_id: [u8; 8],
    /// The manifest's trusted keys.
    pub trusted_keys: Vec<TrustedKey>,
    /// The target's work buffer (`work_len` of the generated include).
    pub work_len: usize,
    /// The boot policy the firmware uses.
    pub policy: BootPolicy,
}

impl Case {
    /// `sku/model: bundle path`, for reports.
    pub fn label(&self) -> String {
        format!("{}/{}: {}", self.sku, self.model, self.bundle_path)
    }

    /// A flash holding `old` in slot A, provisioned with the old counter.
    pub fn provisioned<const W: usize, const E: usize>(&self) -> SimFlash<W, E, 1> {
        let mut flash = SimFlash::<W, E, 1>::new(self.capacity);
        flash.program_at(self.layout.slot_a.offset as usize, &self.old);
        let image = SlotImage {
            len: self.old.len() as u64,
            sha256: sha256(&self.old),
        };
        Updater::provision(&mut flash, self.layout, Slot::A, image, self.old_counter)
            .expect("a blank window provisions");
        flash
    }
}

/// Which model a boot loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    /// The model before the update.
    Old,
    /// The latest release.
    New,
}

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The journal no longer opens: the device cannot decide what to boot.
    Bricked(String),
    /// A boot would load neither exactly the old nor exactly the new model.
    Mixed(String),
    /// The genuine update did not end with the new model confirmed in time.
    Wedged(String),
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bricked(why) => write!(f, "bricked: {why}"),
            Self::Mixed(why) => write!(f, "mixed: {why}"),
            Self::Wedged(why) => write!(f, "wedged: {why}"),
        }
    }
}

/// What the firmware does with a trial on its way to the new model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Apply, boot the trial, confirm.
    Straight,
    /// Apply, boot the trial, cancel it (the application rejects it), then apply again and
    /// confirm.
    CancelTrial,
    /// Apply, never confirm the trial until the policy reverts it, then apply again and
    /// confirm.
    RevertTrial,
}

/// What the firmware does when `confirm` reports an error with power on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConfirmError {
    /// Call `confirm` again.
    Retry,
    /// Reject the trial with `cancel`, then apply the update again.
    Cancel,
}

/// How a drive ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drive {
    /// Power cycles.
    pub boots: u32,
    /// Power cycles that ended in a power cut.
    pub cuts: u32,
    /// Power cycles that ended in an error reported with power on.
    pub errors: u32,
    /// Mutation count of the flash at the start of each of the first power cycles.
    pub boot_marks: [u64; 8],
}

/// How one power cycle ended.
enum Cycle {
    /// The new model booted confirmed.
    Done,
    /// Reset: power was cut.
    Cut,
    /// Reset after an error reported with power on (the firmware starts over).
    Error,
    /// Reset by the firmware (a trial it does not confirm, a cancel).
    Reset,
}

/// The firmware, and what its operator remembers across resets (which detour of the script
/// was taken).
#[derive(Debug)]
pub struct Firmware<'c> {
    case: &'c Case,
    script: Script,
    on_confirm_error: OnConfirmError,
    policy: BootPolicy,
    detour_done: bool,
    old_sha: [u8; 32],
    new_sha: [u8; 32],
    /// What the last boot loaded.
    pub last_loaded: Option<Loaded>,
}

impl<'c> Firmware<'c> {
    /// A firmware for `case` following `script`.
    pub fn new(case: &'c Case, script: Script) -> Self {
        Self {
            case,
            script,
            on_confirm_error: OnConfirmError::Retry,
            policy: case.policy,
            detour_done: script == Script::Straight,
            old_sha: sha256(&case.old),
            new_sha: sha256(&case.new),
            last_loaded: None,
        }
    }

    /// The same firmware reacting to a failed `confirm` with `reaction`.
    #[must_use]
    pub fn on_confirm_error(mut self, reaction: OnConfirmError) -> Self {
        self.on_confirm_error = reaction;
        self
    }

    /// The same firmware with another boot policy.
    #[must_use]
    pub fn with_policy(mut self, policy: BootPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Power cycles the device until the new model boots confirmed, checking the invariants
    /// at every boot; at most `max_boots` cycles. Starts by rebooting when the power is off.
    pub fn run<const W: usize, const E: usize>(
        &mut self,
        flash: &mut SimFlash<W, E, 1>,
        max_boots: u32,
    ) -> Result<Drive, Violation> {
        let mut drive = Drive::default();
        let mut failed_opens = 0;
        while drive.boots < max_boots {
            if !flash.is_powered() {
                flash.reboot();
            }
            if let Some(mark) = drive.boot_marks.get_mut(drive.boots as usize) {
                *mark = flash.counts().mutations();
            }
            drive.boots += 1;
            match self.cycle(flash, &mut failed_opens)? {
                Cycle::Done => {
                    self.check_end(flash)?;
                    return Ok(drive);
                }
                Cycle::Cut => drive.cuts += 1,
                Cycle::Error => drive.errors += 1,
                Cycle::Reset => {}
            }
            // A reset: power off, whatever its reason.
            flash.reboot();
        }
        Err(Violation::Wedged(format!(
            "the new model was not confirmed after {max_boots} boots ({} cut, {} with errors; last boot loaded the {:?} model)",
            drive.cuts, drive.errors, self.last_loaded
        )))
    }

    fn cycle<const W: usize, const E: usize>(
        &mut self,
        flash: &mut SimFlash<W, E, 1>,
        failed_opens: &mut u32,
    ) -> Result<Cycle, Violation> {
        let mut up = match Updater::open(&mut *flash, self.case.layout) {
            Ok(up) => {
                *failed_opens = 0;
                up
            }
            Err(error) => {
                *failed_opens += 1;
                if *failed_opens >= OPEN_ATTEMPTS {
                    return Err(Violation::Bricked(format!(
                        "the journal failed to open {OPEN_ATTEMPTS} boots in a row: {error}"
                    )));
                }
                return Ok(Cycle::Error);
            }
        };
        let decision = match up.boot(self.policy) {
            Ok(decision) => decision,
            Err(error) => return self.boot_failed(&mut up, error),
        };
        let loaded = self.check_loaded(up.flash().bytes(), &decision)?;
        self.last_loaded = Some(loaded);
        let outcome = match (decision.kind, loaded) {
            (BootKind::Confirmed, Loaded::New) => return Ok(Cycle::Done),
            (BootKind::Trial, Loaded::New) if !self.detour_done => match self.script {
                // The application never confirms: the next reset counts a trial boot.
                Script::RevertTrial | Script::Straight => return Ok(Cycle::Reset),
                Script::CancelTrial => up.cancel().map(|()| {
                    self.detour_done = true;
                }),
            },
            (BootKind::Trial, Loaded::New) => match up.confirm() {
                Ok(()) => Ok(()),
                Err(_) if !up.flash().is_powered() => return Ok(Cycle::Cut),
                Err(_) => match self.on_confirm_error {
                    OnConfirmError::Retry => up.confirm(),
                    OnConfirmError::Cancel => up.cancel(),
                },
            },
            (BootKind::Confirmed | BootKind::Reverted | BootKind::TrialCorrupt, Loaded::Old) => {
                if decision.kind == BootKind::Reverted {
                    self.detour_done = true;
                }
                self.apply(&mut up)
            }
            (kind, loaded) => {
                return Err(Violation::Mixed(format!(
                    "a {kind:?} boot loads the {loaded:?} model"
                )));
            }
        };
        match outcome {
            Ok(()) => Ok(Cycle::Reset),
            Err(_) if !up.flash().is_powered() => Ok(Cycle::Cut),
            Err(_) => Ok(Cycle::Error),
        }
    }

    /// A boot decision that failed: a power cut, or the documented fallback, which loads the
    /// confirmed model (and it must be whole).
    fn boot_failed<const W: usize, const E: usize>(
        &mut self,
        up: &mut Updater<&mut SimFlash<W, E, 1>>,
        error: impl std::fmt::Display,
    ) -> Result<Cycle, Violation> {
        if !up.flash().is_powered() {
            return Ok(Cycle::Cut);
        }
        let active = up.state().active;
        let image = up.state().active_image;
        let decision = BootDecision {
            slot: active,
            region: self.case.layout.slot(active),
            image,
            kind: BootKind::Confirmed,
            resume: None,
        };
        let loaded = self.check_loaded(up.flash().bytes(), &decision);
        self.last_loaded = loaded.as_ref().ok().copied();
        loaded.map_err(|v| match v {
            Violation::Mixed(why) => Violation::Mixed(format!("{why} (after {error})")),
            other => other,
        })?;
        Ok(Cycle::Error)
    }

    /// Begins or resumes the update with the device's real admission, feeds the rest of the
    /// payload in fragments and finishes.
    fn apply<const W: usize, const E: usize>(
        &self,
        up: &mut Updater<&mut SimFlash<W, E, 1>>,
    ) -> Result<(), Error> {
        let case = self.case;
        let (header, rest) = case
            .bundle
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(Error::PayloadTruncated)?;
        let (signature, payload) = rest
            .split_first_chunk::<SIGNATURE_LEN>()
            .ok_or(Error::PayloadTruncated)?;
        let mut scratch = [0u8; 512];
        let mut admission =
            VerifyingAdmit::new(case.sku_id, case.model_id, &case.trusted_keys, &mut scratch);
        let mut work = vec![0u8; case.work_len];
        let mut session = up.begin(&mut admission, header, signature, &mut work)?;
        let mut at = usize::try_from(session.payload_offset()).unwrap_or(usize::MAX);
        while at < payload.len() {
            let end = (at + FRAGMENT).min(payload.len());
            session.feed(&payload[at..end])?;
            at = end;
        }
        session.finish().map(|_| ())
    }

    /// Which model `decision` loads; mixed unless its bytes and digest are exactly the old or
    /// exactly the new model's.
    pub fn check_loaded(&self, flash: &[u8], decision: &BootDecision) -> Result<Loaded, Violation> {
        check_loaded(
            (&self.case.old, &self.old_sha),
            (&self.case.new, &self.new_sha),
            flash,
            decision,
        )
    }

    /// The end state: idle, the new model active and confirmed, its counter committed.
    fn check_end<const W: usize, const E: usize>(
        &self,
        flash: &mut SimFlash<W, E, 1>,
    ) -> Result<(), Violation> {
        let up = Updater::open(&mut *flash, self.case.layout).map_err(|e| {
            Violation::Bricked(format!("the journal failed to open at the end: {e}"))
        })?;
        let state = up.state();
        if state.phase != Phase::Idle || state.committed_counter != self.case.new_counter {
            return Err(Violation::Wedged(format!(
                "the new model boots confirmed but the journal records {:?} with counter {}",
                state.phase, state.committed_counter
            )));
        }
        Ok(())
    }
}

/// Which of `old` and `new` (bytes and SHA-256) the slot `decision` points at holds, exactly;
/// [`Violation::Mixed`] for anything else.
pub fn check_loaded(
    old: (&[u8], &[u8; 32]),
    new: (&[u8], &[u8; 32]),
    flash: &[u8],
    decision: &BootDecision,
) -> Result<Loaded, Violation> {
    let start = decision.region.offset as usize;
    let len = usize::try_from(decision.image.len).unwrap_or(usize::MAX);
    let bytes = flash.get(start..start.saturating_add(len));
    let is =
        |(model, sha): (&[u8], &[u8; 32])| bytes == Some(model) && decision.image.sha256 == *sha;
    if is(old) {
        Ok(Loaded::Old)
    } else if is(new) {
        Ok(Loaded::New)
    } else {
        Err(Violation::Mixed(format!(
            "a {:?} boot of slot {:?} would load {} bytes that are neither the old nor the new model",
            decision.kind, decision.slot, decision.image.len
        )))
    }
}

/// The header of the case's bundle.
pub fn header_of(bundle: &[u8]) -> Option<BundleHeader> {
    BundleHeader::parse(bundle.first_chunk::<HEADER_LEN>()?).ok()
}

#[cfg(test)]
mod tests {
    use mallorn_runtime::storage::{Region, ResumePoint};

    use super::*;

    fn decision(len: u64, sha256: [u8; 32]) -> BootDecision {
        BootDecision {
            slot: Slot::B,
            region: Region::new(16, 64),
            image: SlotImage { len, sha256 },
            kind: BootKind::Trial,
            resume: None::<ResumePoint>,
        }
    }

    #[test]
    fn a_slot_holding_half_old_half_new_is_mixed() {
        let old = vec![0x11; 32];
        let new = vec![0x22; 32];
        let (old_sha, new_sha) = (sha256(&old), sha256(&new));
        let mut flash = vec![0xFF; 128];
        flash[16..32].copy_from_slice(&new[..16]);
        flash[32..48].copy_from_slice(&old[16..]);
        let check = |flash: &[u8], d: &BootDecision| {
            check_loaded((&old, &old_sha), (&new, &new_sha), flash, d)
        };
        assert!(matches!(
            check(&flash, &decision(32, new_sha)),
            Err(Violation::Mixed(_))
        ));
        flash[32..48].copy_from_slice(&new[16..]);
        assert_eq!(check(&flash, &decision(32, new_sha)), Ok(Loaded::New));
        // Right bytes, wrong digest in the journal: also mixed.
        assert!(matches!(
            check(&flash, &decision(32, old_sha)),
            Err(Violation::Mixed(_))
        ));
    }

    #[test]
    fn a_device_whose_slot_holds_mixed_bytes_is_reported_mixed() {
        let mut case = crate::simulate::tests::tiny_case();
        case.old = vec![0x11; 3000];
        case.new = vec![0x22; 3000];
        let mut flash = case.provisioned::<4, 4096>();
        // Half of the active slot now holds the new model's bytes.
        let slot_a = case.layout.slot_a.offset as usize;
        let mut patched = flash.clone();
        patched.program_at(slot_a + 1500, &case.new[1500..]);
        let outcome = Firmware::new(&case, Script::Straight).run(&mut patched, MAX_BOOTS);
        assert!(matches!(outcome, Err(Violation::Mixed(_))), "{outcome:?}");
        let mut tally = crate::simulate::Tally::default();
        tally.record(&case, || "patched slot A".into(), outcome.map(|_| ()));
        assert_eq!(tally.mixed, 1);
        // The intact device boots the old model (and fails later, having no bundle).
        let outcome = Firmware::new(&case, Script::Straight).run(&mut flash, 2);
        assert!(matches!(outcome, Err(Violation::Wedged(_))), "{outcome:?}");
    }
}
