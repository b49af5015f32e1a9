//! The device's side of an update, as a firmware would run it: the factory programs the old
//! model and provisions the journal; the bundle arrives in radio-sized fragments and is
//! admitted, applied and finished; the device resets, boots the new model on trial, checks
//! it and confirms it. A refused bundle is cancelled, and after a reset the old model must
//! still be the one that boots.
//!
//! A fragment whose segment does not match its signed hash is refused where it arrives
//! (`PayloadSegmentMismatch`); a firmware would fetch it again from `payload_offset()`. The
//! tampered bundles here are damaged at the source, so a new fetch would bring the same bytes:
//! the flow gives the update up at the first refusal.
//!
//! Each step is `#[inline(never)]`: its locals live only while it runs, as in a firmware's
//! own call tree, so the peak stack is the deepest step's rather than the sum of all steps
//! inlined into one frame.

use mallorn_runtime::Error;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNATURE_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::{Sha256, sha256};
use mallorn_runtime::storage::{
    Admit, Admitted, BootDecision, BootKind, BootPolicy, Finished, Slot, Updater,
};

use embedded_storage::nor_flash::NorFlash;

use crate::Flash;
use crate::generated::{factory, okay_nabu};

/// Bytes per fragment fed to the applier: what one radio packet might carry.
pub const FRAGMENT_LEN: usize = 512;

/// The scratch buffer the admission reads the active slot through to hash it: one SHA-256
/// block. Any length works; a longer one means fewer flash reads and more stack.
pub const SCRATCH_LEN: usize = 64;

/// How boot treats a model on trial: three trial boots, no re-hash at boot (`finish` read
/// the slot back, and the firmware's self-test hashes it before `confirm`).
pub const BOOT_POLICY: BootPolicy = BootPolicy::DEFAULT;

/// One bit of the bundle to flip on its way into the device (the tamper runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tamper {
    /// Byte offset in the bundle.
    pub offset: usize,
    /// Bit mask to XOR into that byte.
    pub mask: u8,
}

impl Tamper {
    fn apply(tamper: Option<Tamper>, piece: &mut [u8], piece_offset: usize) {
        let byte = tamper.and_then(|t| {
            let at = t.offset.checked_sub(piece_offset)?;
            Some((piece.get_mut(at)?, t.mask))
        });
        if let Some((byte, mask)) = byte {
            *byte ^= mask;
        }
    }
}

/// The update on its way in, and the buffers the firmware lends to receive it: the admission
/// (with the trusted keys and its scratch buffer), the bundle, the bit a tamper run flips on
/// the way in, the work buffer and the radio's receive buffer.
pub struct Delivery<'a, A: Admit> {
    /// The device's admission.
    pub admit: &'a mut A,
    /// The whole bundle, as the server publishes it.
    pub bundle: &'a [u8],
    /// A bit to flip on its way into the device (`None`: delivered intact).
    pub tamper: Option<Tamper>,
    /// The work buffer (at least the bundle's stated need).
    pub work: &'a mut [u8],
    /// The radio driver's receive buffer, static in these firmwares: not the applier's stack.
    pub radio: &'a mut [u8; FRAGMENT_LEN],
}

/// Why a run went wrong in a way that is not a refused bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The factory step or a reset failed.
    Setup(Error),
    /// Boot, confirm or cancel failed.
    Lifecycle(Error),
    /// The emulated NOR part is not where Mallorn.toml says the flash starts.
    FlashMisplaced,
    /// The model carried by the firmware is not the factory release Mallorn.toml names.
    WrongFactoryModel,
    /// After the update, the device did not boot the new model on trial, then confirmed.
    WrongBoot(BootKind, Slot),
    /// The update installed something other than the latest release the generated include
    /// names (`okay_nabu::IMAGE`).
    NotLatestRelease,
    /// A slot does not hash to what the journal says it holds.
    SlotHashMismatch(Slot),
    /// After a refused bundle, the old model is no longer what boots.
    OldModelNotActive,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied, booted on trial, confirmed; the active slot hashes to `sha256`.
    Applied {
        /// The slot now active.
        slot: Slot,
        /// SHA-256 of its model, read back from flash.
        sha256: [u8; 32],
    },
    /// The bundle was refused; the old model still boots.
    Rejected {
        /// The runtime's reason.
        reason: Error,
        /// SHA-256 of the model that boots, read back from flash.
        active_sha256: [u8; 32],
    },
    /// Something else went wrong.
    Failed(Failure),
}

/// Time and stack instruments; the minimal appliers use [`NoMeter`].
pub trait Meter {
    /// A clock reading.
    fn ticks(&self) -> u64;
    /// Peak stack bytes since the previous call (or since reset), and starts a new period.
    fn stack_period(&self) -> usize;
}

/// Measures nothing.
pub struct NoMeter;

impl Meter for NoMeter {
    fn ticks(&self) -> u64 {
        0
    }
    fn stack_period(&self) -> usize {
        0
    }
}

/// What a run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    /// Work buffer handed to the applier (the bundle's stated need).
    pub work_len: usize,
    /// Clock ticks spent in admission (header, signature, SKU, model, counter) and in
    /// `begin_admitted` (journal checks, base SHA-256).
    pub admit_ticks: u64,
    /// Clock ticks spent feeding the payload and finishing (segment hashes, decode, flash
    /// writes and read-back, checkpoints, reading the result back).
    pub apply_ticks: u64,
    /// Peak stack of the factory step and of the power-on (journal opened, boot) that
    /// receives the update.
    pub setup_stack: usize,
    /// Peak stack of admission and `begin_admitted`.
    pub admit_stack: usize,
    /// Peak stack of feeding and finishing.
    pub apply_stack: usize,
    /// Peak stack of the resets, boots, self-test and confirmation after the apply.
    pub lifecycle_stack: usize,
    /// Flash operations of the whole run; `watched_ops` counts those on slot B (the
    /// update's target) from admission on.
    pub flash: crate::nor::FlashCounts,
    /// Journal records written by the end.
    pub journal_sequence: u32,
    /// `power-cut` builds: the payload byte the first attempt had reached when the power was
    /// cut, and the one the update resumed from after the reset (0: started from the top).
    pub cut_at: u64,
    /// `power-cut` builds: peak stack of the interrupted attempt (power-on, admission, the
    /// first half of the apply).
    pub cut_stack: usize,
    /// The payload byte the applied session started from.
    pub resumed_from: u64,
}

/// Runs a whole update on a fresh device: factory, boot, apply the delivered bundle, reset,
/// trial boot, check, confirm, reset, boot. `meter` takes the figures. (Inlined into `main`:
/// its outcome and figures are built where `main` keeps them.)
#[inline(always)]
pub fn run<A: Admit>(
    flash: Flash,
    mut delivery: Delivery<'_, A>,
    meter: &dyn Meter,
) -> (Outcome, Figures) {
    let mut figures = Figures::default();
    let outcome = match run_inner(flash, &mut delivery, meter, &mut figures) {
        Ok(outcome) => outcome,
        Err(failure) => Outcome::Failed(failure),
    };
    (outcome, figures)
}

#[inline(never)]
fn run_inner<A: Admit>(
    mut flash: Flash,
    delivery: &mut Delivery<'_, A>,
    meter: &dyn Meter,
    figures: &mut Figures,
) -> Result<Outcome, Failure> {
    if !flash.matches_generated_base() {
        return Err(Failure::FlashMisplaced);
    }
    let _ = meter.stack_period();
    program_factory(&mut flash, crate::generated::OLD_MODEL)?;
    figures.setup_stack = meter.stack_period();
    // From here on, every erase or program of the update's target slot is counted.
    let slot_b = okay_nabu::LAYOUT.slot_b;
    flash.watch(slot_b.offset, slot_b.len);
    // Each step below is one power cycle: only the flash outlives it, and the next one opens
    // the journal again, as a firmware does after a reset.
    if cfg!(feature = "power-cut") {
        cut_power_midway(&mut flash, delivery, figures)?;
        figures.cut_stack = meter.stack_period();
    }
    match receive_update(&mut flash, delivery, meter, figures)? {
        Ok(finished) => {
            try_new_model(&mut flash, &finished)?;
            boot_confirmed(&mut flash, &finished, meter, figures)
        }
        Err(reason) => boot_after_refusal(&mut flash, reason, meter, figures),
    }
}

/// One power cycle: opens the journal on `flash` (a power-on) and runs `cycle` on the
/// updater. The updater borrows the flash, which outlives the cycle as it outlives a reset,
/// and stays where it was opened, in the frame of the function that runs the cycle: taking
/// it out of `Updater::open`'s `Result`, or returning it from a helper, would copy it, and
/// each copy would stay on the stack under the whole cycle.
#[inline(always)]
fn power_cycle<T>(
    flash: &mut Flash,
    cycle: impl FnOnce(&mut Updater<&mut Flash>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    match &mut Updater::open(flash, okay_nabu::LAYOUT) {
        Ok(updater) => cycle(updater),
        Err(e) => Err(Failure::Setup(*e)),
    }
}

/// Boots, checking that the old model (the factory release in slot A, confirmed) is the one
/// that boots.
#[inline(never)]
fn boot_old_model(updater: &mut Updater<&mut Flash>) -> Result<BootDecision, Failure> {
    let booted = updater.boot(BOOT_POLICY).map_err(Failure::Lifecycle)?;
    if booted.kind != BootKind::Confirmed
        || booted.slot != Slot::A
        || booted.image != factory::IMAGE
    {
        return Err(Failure::OldModelNotActive);
    }
    Ok(booted)
}

/// The `power-cut` case: applies the first half of the payload, then the power goes (the
/// session and the RAM are lost, the flash stays). The next power cycle must still boot the
/// old model, and its `begin` resumes from the last checkpoint (the payload's start for this
/// bundle: its 60 KB result is one chunk, and the engine makes chunks of 256 KiB of result).
#[inline(never)]
fn cut_power_midway<A: Admit>(
    flash: &mut Flash,
    delivery: &mut Delivery<'_, A>,
    figures: &mut Figures,
) -> Result<(), Failure> {
    power_cycle(flash, |updater| {
        boot_old_model(updater)?;
        // The interrupted attempt receives the bundle intact.
        let mut intact = Delivery {
            admit: &mut *delivery.admit,
            bundle: delivery.bundle,
            tamper: None,
            work: &mut *delivery.work,
            radio: &mut *delivery.radio,
        };
        let admitted = admit_bundle(updater, &mut intact, figures).map_err(Failure::Setup)?;
        figures.cut_at = apply_half(updater, &mut intact, &admitted).map_err(Failure::Setup)?;
        Ok(())
    })
}

/// Begins the admitted update and feeds the first half of its payload; returns the payload
/// byte it reached. (In its own frame, as `apply`: the session is not under admission.)
#[inline(never)]
fn apply_half<A: Admit>(
    updater: &mut Updater<&mut Flash>,
    delivery: &mut Delivery<'_, A>,
    admitted: &Admitted,
) -> Result<u64, Error> {
    let Delivery {
        admit,
        bundle,
        work,
        radio,
        ..
    } = delivery;
    let half = (bundle.len() - SIGNED_BUNDLE_PREFIX) / 2;
    let mut session = updater.begin_admitted(*admit, admitted, work)?;
    feed(&mut session, bundle, radio, None, half)?;
    Ok(session.payload_offset())
}

/// The power cycle that receives the update: boots the old model, admits the delivered
/// bundle (in its own frame: signature verification is the deepest part of an update, and the session
/// `apply` holds is not on the stack yet) and applies it. A refused bundle is cancelled.
/// (After `PayloadSegmentMismatch` the update is still in progress and `cancel` discards it;
/// after a refused header nothing was recorded and `cancel` does nothing. A device fault
/// would instead keep the checkpoint, for `begin` to resume after the next boot.)
#[inline(never)]
fn receive_update<A: Admit>(
    flash: &mut Flash,
    delivery: &mut Delivery<'_, A>,
    meter: &dyn Meter,
    figures: &mut Figures,
) -> Result<Result<Finished, Error>, Failure> {
    power_cycle(flash, |updater| {
        boot_old_model(updater)?;
        figures.setup_stack = figures.setup_stack.max(meter.stack_period());
        let start = meter.ticks();
        let admitted = admit_bundle(updater, delivery, figures);
        figures.admit_ticks = meter.ticks() - start;
        let applied = match admitted {
            Ok(admitted) => apply(updater, delivery, &admitted, meter, figures),
            Err(reason) => {
                figures.admit_stack = meter.stack_period();
                Err(reason)
            }
        };
        if applied.is_err() {
            updater.cancel().map_err(Failure::Lifecycle)?;
        }
        Ok(applied)
    })
}

/// Admits the delivered bundle's header and signature (with the tamper applied on the way
/// in) and records the work buffer it states it needs: that is the RAM figure to report. (For
/// a refused header, the figure is what parsing it says, or the whole buffer.)
#[inline(never)]
fn admit_bundle<A: Admit>(
    updater: &Updater<&mut Flash>,
    delivery: &mut Delivery<'_, A>,
    figures: &mut Figures,
) -> Result<Admitted, Error> {
    let Delivery {
        admit,
        bundle,
        tamper,
        work,
        ..
    } = delivery;
    let mut header = [0u8; HEADER_LEN];
    let mut signature = [0u8; SIGNATURE_LEN];
    let prefix = bundle
        .get(..SIGNED_BUNDLE_PREFIX)
        .ok_or(Error::PayloadTruncated)?;
    header.copy_from_slice(&prefix[..HEADER_LEN]);
    signature.copy_from_slice(&prefix[HEADER_LEN..]);
    Tamper::apply(*tamper, &mut header, 0);
    Tamper::apply(*tamper, &mut signature, HEADER_LEN);
    figures.work_len = stated_work_len(&header).min(work.len());
    updater.admit(*admit, &header, &signature)
}

/// The work buffer `header` states the bundle needs (or `usize::MAX` if it does not parse).
/// In its own frame: the parsed header is not kept under the signature check.
#[inline(never)]
fn stated_work_len(header: &[u8; HEADER_LEN]) -> usize {
    BundleHeader::parse(header).map_or(usize::MAX, |h| h.ram_required as usize)
}

/// The power cycle after a finished apply: boots the new model on trial, self-tests it and
/// confirms it.
#[inline(never)]
fn try_new_model(flash: &mut Flash, finished: &Finished) -> Result<(), Failure> {
    power_cycle(flash, |updater| {
        let trial = updater.boot(BOOT_POLICY).map_err(Failure::Lifecycle)?;
        if trial.kind != BootKind::Trial || trial.slot != finished.slot {
            return Err(Failure::WrongBoot(trial.kind, trial.slot));
        }
        if trial.image != okay_nabu::IMAGE {
            return Err(Failure::NotLatestRelease);
        }
        // The firmware's self-test of the new model before it commits to it.
        check_slot(updater, &trial)?;
        updater.confirm().map_err(Failure::Lifecycle)
    })
}

/// The power cycle after the confirm: the new model boots, confirmed, and hashes to its
/// journal record.
#[inline(never)]
fn boot_confirmed(
    flash: &mut Flash,
    finished: &Finished,
    meter: &dyn Meter,
    figures: &mut Figures,
) -> Result<Outcome, Failure> {
    power_cycle(flash, |updater| {
        let booted = updater.boot(BOOT_POLICY).map_err(Failure::Lifecycle)?;
        if booted.kind != BootKind::Confirmed || booted.slot != finished.slot {
            return Err(Failure::WrongBoot(booted.kind, booted.slot));
        }
        let sha256 = check_slot(updater, &booted)?;
        figures.flash = updater.flash().counts();
        figures.journal_sequence = updater.journal_sequence();
        figures.lifecycle_stack = meter.stack_period();
        Ok(Outcome::Applied {
            slot: booted.slot,
            sha256,
        })
    })
}

/// The power cycle after a refused bundle: the old model still boots and hashes to its
/// journal record.
#[inline(never)]
fn boot_after_refusal(
    flash: &mut Flash,
    reason: Error,
    meter: &dyn Meter,
    figures: &mut Figures,
) -> Result<Outcome, Failure> {
    power_cycle(flash, |updater| {
        let booted = boot_old_model(updater)?;
        let active_sha256 = check_slot(updater, &booted)?;
        figures.flash = updater.flash().counts();
        figures.journal_sequence = updater.journal_sequence();
        figures.lifecycle_stack = meter.stack_period();
        Ok(Outcome::Rejected {
            reason,
            active_sha256,
        })
    })
}

/// The factory: programs `image`, the factory release, into slot A of the erased part and
/// provisions the journal with that release's security counter.
#[inline(never)]
pub fn program_factory(flash: &mut Flash, image: &[u8]) -> Result<(), Failure> {
    if image.len() as u64 != factory::IMAGE.len || sha256(image) != factory::IMAGE.sha256 {
        return Err(Failure::WrongFactoryModel);
    }
    program_slot_a(flash, image).map_err(|e| {
        Failure::Setup(Error::Flash(
            embedded_storage::nor_flash::NorFlashError::kind(&e),
        ))
    })?;
    Updater::provision(
        flash,
        okay_nabu::LAYOUT,
        Slot::A,
        factory::IMAGE,
        factory::SECURITY_COUNTER,
    )
    .map(|_| ())
    .map_err(Failure::Setup)
}

/// Erases slot A and programs `image` into it, with the flash driver alone (the factory's
/// programmer; `min-baseline` runs it too, so its code is not counted as the applier's).
#[inline(never)]
pub fn program_slot_a(flash: &mut Flash, image: &[u8]) -> Result<(), crate::nor::RamNorError> {
    let slot = okay_nabu::LAYOUT.slot_a;
    flash.erase(slot.offset, slot.offset + slot.len)?;
    let unit = Flash::WRITE_SIZE;
    let whole = image.len() / unit * unit;
    flash.write(slot.offset, &image[..whole])?;
    let tail = &image[whole..];
    if !tail.is_empty() {
        // The last partial program unit, padded with the erased value.
        let mut last = [0xFF; crate::generated::WRITE_SIZE];
        last[..tail.len()].copy_from_slice(tail);
        flash.write(slot.offset + whole as u32, &last)?;
    }
    Ok(())
}

/// Applies the admitted bundle, fed in [`FRAGMENT_LEN`] fragments through the receive
/// buffer, with the tamper applied on the way in.
#[inline(never)]
pub fn apply<A: Admit>(
    updater: &mut Updater<&mut Flash>,
    delivery: &mut Delivery<'_, A>,
    admitted: &Admitted,
    meter: &dyn Meter,
    figures: &mut Figures,
) -> Result<Finished, Error> {
    let Delivery {
        admit,
        bundle,
        tamper,
        work,
        radio,
    } = delivery;
    // The work buffer is what the admitted header says the bundle needs.
    let stated = admitted.header().ram_required as usize;
    let work = if stated <= work.len() {
        &mut work[..stated]
    } else {
        &mut work[..]
    };
    let start = meter.ticks();
    let begun = updater.begin_admitted(*admit, admitted, work);
    figures.admit_ticks += meter.ticks() - start;
    figures.admit_stack = meter.stack_period();
    // Used where `begin_admitted` put it: moving the session out of the result would copy
    // it within this frame, and this frame is under the whole payload's decoding.
    let mut begun = begun;
    let session = match &mut begun {
        Ok(session) => session,
        Err(e) => return Err(*e),
    };
    figures.resumed_from = session.payload_offset();

    let start = meter.ticks();
    let result = match feed(session, bundle, radio, *tamper, usize::MAX) {
        Ok(()) => session.finish(),
        Err(e) => Err(e),
    };
    figures.apply_ticks = meter.ticks() - start;
    figures.apply_stack = meter.stack_period();
    result
}

/// Feeds the payload from where the session stands up to payload byte `until` (or its end),
/// a fragment at a time through a receive buffer, flipping the tampered bit on the way.
#[inline(never)]
fn feed(
    session: &mut mallorn_runtime::storage::UpdateSession<'_, '_, &mut Flash>,
    bundle: &[u8],
    radio: &mut [u8; FRAGMENT_LEN],
    tamper: Option<Tamper>,
    until: usize,
) -> Result<(), Error> {
    let payload = &bundle[SIGNED_BUNDLE_PREFIX..];
    let payload = &payload[..until.min(payload.len())];
    let mut offset = usize::try_from(session.payload_offset()).unwrap_or(usize::MAX);
    while let Some(rest) = payload.get(offset..).filter(|rest| !rest.is_empty()) {
        let n = rest.len().min(FRAGMENT_LEN);
        let fragment = &mut radio[..n];
        fragment.copy_from_slice(&rest[..n]);
        Tamper::apply(tamper, fragment, SIGNED_BUNDLE_PREFIX + offset);
        session.feed(fragment)?;
        offset += n;
    }
    Ok(())
}

/// Hashes the model `decision` names from flash and checks it against the journal's record.
#[inline(never)]
pub fn check_slot(
    updater: &mut Updater<&mut Flash>,
    decision: &BootDecision,
) -> Result<[u8; 32], Failure> {
    let mut hash = Sha256::new();
    let mut buf = [0u8; 256];
    let mut at = 0u64;
    while at < decision.image.len {
        let n = (decision.image.len - at).min(buf.len() as u64) as usize;
        updater
            .read_slot(decision.slot, at, &mut buf[..n])
            .map_err(Failure::Setup)?;
        hash.update(&buf[..n]);
        at += n as u64;
    }
    let digest = hash.finalize();
    if digest != decision.image.sha256 {
        return Err(Failure::SlotHashMismatch(decision.slot));
    }
    Ok(digest)
}
