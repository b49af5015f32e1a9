//! The device's update state machine over one NOR flash: provisioning, the boot-time slot
//! choice, starting or resuming an update, confirming or cancelling it.
//!
//! ```text
//! Idle --begin--> Updating --finish--> Pending --boot--> Trial --confirm--> Idle (new active)
//!                    |  ^ resume                           | ^
//!                    |  '--begin (same bundle)             | '--boot (reset, trial boots left)
//!                    |                                     '--boot (no trial boots left)--> Idle (old active)
//!                    '--an error on authenticated bytes, or the result failing its read-back--> Idle
//! ```
//! Every transition is one journal record, written before the state it announces is relied
//! on. Updates write only the inactive slot; the active slot is only read.

use core::cell::RefCell;

use embedded_storage::nor_flash::NorFlash;

use crate::apply::PayloadStream;
use crate::error::Error;
use crate::format::{BundleHeader, Flags, HEADER_LEN, SIGNATURE_LEN};
use crate::hash::Sha256;
use crate::storage::admit::{Admit, Admitted};
use crate::storage::base_slot::FlashBase;
use crate::storage::boot::{BootDecision, BootKind, BootPolicy, ResumePoint};
use crate::storage::flash_io;
use crate::storage::journal::Journal;
use crate::storage::journal::geometry::JournalGeometry;
use crate::storage::layout::{FlashGeometry, FlashLayout, LayoutError, Slot};
use crate::storage::result_slot::FlashResult;
use crate::storage::session::UpdateSession;
use crate::storage::slot_check::slot_matches;
use crate::storage::state::{DeviceState, Phase, SlotImage, UpdateTarget};
use crate::verify::MAX_SECURITY_COUNTER;

/// Owns the flash for the lifetime of the firmware's update logic (pass `&mut flash` to keep
/// it). Open it once per boot, then call [`Updater::boot`] before loading a model.
#[derive(Debug)]
pub struct Updater<F: NorFlash> {
    flash: RefCell<F>,
    layout: FlashLayout,
    geometry: FlashGeometry,
    journal: Journal,
    booted: Option<BootDecision>,
}

impl<F: NorFlash> Updater<F> {
    fn journal_geometry(
        flash: &F,
        layout: &FlashLayout,
        g: FlashGeometry,
    ) -> Result<JournalGeometry, Error> {
        if !g.is_served_by::<F>() {
            return Err(Error::Layout(LayoutError::UnsupportedGeometry {
                erase_size: g.erase_size,
                write_size: g.write_size,
                read_size: g.read_size,
            }));
        }
        layout
            .validate(g.erase_size, g.write_size, g.read_size, flash.capacity())
            .map_err(Error::Layout)?;
        Ok(JournalGeometry::new(
            layout.state,
            g.erase_size,
            g.write_size,
        ))
    }

    /// Reads the journal. Fails with [`Error::JournalBlank`] on a device that was never
    /// provisioned.
    pub fn open(flash: F, layout: FlashLayout) -> Result<Self, Error> {
        Self::open_with_geometry(flash, layout, FlashGeometry::of::<F>())
    }

    /// [`Updater::open`] for a driver whose geometry is known only at run time: the updater
    /// programs and erases in the units of `geometry` instead of the driver's constants.
    pub fn open_with_geometry(
        mut flash: F,
        layout: FlashLayout,
        geometry: FlashGeometry,
    ) -> Result<Self, Error> {
        let journal_geometry = Self::journal_geometry(&flash, &layout, geometry)?;
        let journal = Journal::open(&mut flash, journal_geometry)?;
        Ok(Self {
            flash: RefCell::new(flash),
            layout,
            geometry,
            journal,
            booted: None,
        })
    }

    /// Factory provisioning: erases the state region and records that `active` holds `image`
    /// (programmed there by the factory) with anti-rollback counter `committed_counter`.
    pub fn provision(
        flash: F,
        layout: FlashLayout,
        active: Slot,
        image: SlotImage,
        committed_counter: u64,
    ) -> Result<Self, Error> {
        let geometry = FlashGeometry::of::<F>();
        Self::provision_with_geometry(flash, layout, geometry, active, image, committed_counter)
    }

    /// [`Updater::provision`] with a run-time geometry (see [`Updater::open_with_geometry`]).
    pub fn provision_with_geometry(
        mut flash: F,
        layout: FlashLayout,
        geometry: FlashGeometry,
        active: Slot,
        image: SlotImage,
        committed_counter: u64,
    ) -> Result<Self, Error> {
        let journal_geometry = Self::journal_geometry(&flash, &layout, geometry)?;
        if committed_counter > MAX_SECURITY_COUNTER {
            return Err(Error::CounterOutOfRange {
                bundle: committed_counter,
            });
        }
        let slot_len = u64::from(layout.slot(active).len);
        if image.len > slot_len {
            return Err(Error::SlotTooSmall {
                needed: image.len,
                slot_len,
            });
        }
        let state = DeviceState {
            active,
            active_image: image,
            committed_counter,
            phase: Phase::Idle,
        };
        let journal = Journal::format(&mut flash, journal_geometry, state)?;
        Ok(Self {
            flash: RefCell::new(flash),
            layout,
            geometry,
            journal,
            booted: None,
        })
    }

    /// The state as the journal records it.
    pub fn state(&self) -> &DeviceState {
        self.journal.state()
    }

    /// Sequence number of the journal's current record (grows by one per transition and per
    /// applied chunk).
    pub fn journal_sequence(&self) -> u32 {
        self.journal.seq()
    }

    /// The layout in use.
    pub fn layout(&self) -> &FlashLayout {
        &self.layout
    }

    /// The flash device, to load the booted model from (or for drivers that share the
    /// device). Writing into the slots or the state region through it voids every guarantee.
    pub fn flash(&mut self) -> &mut F {
        self.flash.get_mut()
    }

    /// Reads `buf.len()` bytes at `offset` of `slot` (to load the booted model).
    pub fn read_slot(&mut self, slot: Slot, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let region = self.layout.slot(slot);
        match offset.checked_add(buf.len() as u64) {
            Some(end) if end <= u64::from(region.len) => {}
            _ => {
                return Err(Error::SlotTooSmall {
                    needed: offset.saturating_add(buf.len() as u64),
                    slot_len: u64::from(region.len),
                });
            }
        }
        flash_io::read(self.flash.get_mut(), u64::from(region.offset) + offset, buf)
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash.into_inner()
    }

    /// Where an interrupted update continues, if one is in progress.
    pub fn resume_point(&self) -> Option<ResumePoint> {
        match &self.state().phase {
            Phase::Updating { target, checkpoint } => Some(ResumePoint {
                bundle_hash: target.bundle_hash,
                payload_offset: checkpoint.as_ref().map_or(0, |c| c.wire_offset),
            }),
            _ => None,
        }
    }

    /// Slots of the journal that failed to read when it was opened (skipped: the state comes
    /// from the others). Non-zero is worth reporting: the flash is wearing or was disturbed.
    pub fn journal_unreadable_slots(&self) -> u32 {
        self.journal.unreadable()
    }

    /// Decides which model to load at this boot. Call it once per reset, before loading a
    /// model (later calls return the same decision). A pending update becomes a trial (its
    /// slot is booted, and the boot is counted in the journal first); a trial that was not
    /// confirmed is booted again until `policy.trial_boots` are used up, then reverted. With
    /// `policy.verify_trial_boot`, a trial slot that no longer hashes to its image (or fails to
    /// read) is reverted instead of booted.
    ///
    /// On an error (the journal could not be written), load the confirmed model,
    /// `state().active`: it is always bootable.
    pub fn boot(&mut self, policy: BootPolicy) -> Result<BootDecision, Error> {
        if let Some(decision) = self.booted {
            return Ok(decision);
        }
        let state = *self.state();
        let confirmed = (state.active, state.active_image, BootKind::Confirmed);
        let (slot, image, kind) = match state.phase {
            Phase::Pending(target) => self.try_trial(&state, target, policy.trial_boots, policy)?,
            Phase::Trial { target, boots_left } if boots_left > 0 => {
                self.try_trial(&state, target, boots_left, policy)?
            }
            Phase::Trial { .. } => {
                self.revert(&state)?;
                (state.active, state.active_image, BootKind::Reverted)
            }
            Phase::Idle | Phase::Updating { .. } => confirmed,
        };
        let decision = BootDecision {
            slot,
            region: self.layout.slot(slot),
            image,
            kind,
            resume: self.resume_point(),
        };
        self.booted = Some(decision);
        Ok(decision)
    }

    /// Boots `target` from the inactive slot on trial, recording first that one of `boots`
    /// trial boots is used; or reverts if the slot fails its check.
    fn try_trial(
        &mut self,
        state: &DeviceState,
        target: UpdateTarget,
        boots: u8,
        policy: BootPolicy,
    ) -> Result<(Slot, SlotImage, BootKind), Error> {
        let slot = state.active.other();
        if policy.verify_trial_boot {
            let mut buf = [0u8; BOOT_CHECK_STEP];
            let region = self.layout.slot(slot);
            // A slot that fails to read (twice: once may be a glitch) cannot be shown to hold
            // the model either.
            let flash = self.flash.get_mut();
            let verified = slot_matches(flash, region, &target.image, &mut buf)
                .or_else(|_| slot_matches(flash, region, &target.image, &mut buf));
            if !matches!(verified, Ok(true)) {
                self.revert(state)?;
                return Ok((state.active, state.active_image, BootKind::TrialCorrupt));
            }
        }
        let trial = DeviceState {
            phase: Phase::Trial {
                target,
                boots_left: boots.max(1) - 1,
            },
            ..*state
        };
        self.journal.commit(self.flash.get_mut(), &trial)?;
        Ok((slot, target.image, BootKind::Trial))
    }

    /// Records that the update is abandoned and the confirmed model stays.
    fn revert(&mut self, state: &DeviceState) -> Result<(), Error> {
        let idle = DeviceState {
            phase: Phase::Idle,
            ..*state
        };
        self.journal.commit(self.flash.get_mut(), &idle)
    }

    /// Commits the model on trial: its slot becomes the active slot and its security counter
    /// the committed counter. Only valid after [`Updater::boot`] returned a trial in this
    /// power cycle; a no-op when there is nothing to confirm (idle). If it fails, the model
    /// stays on trial; [`Updater::cancel`] then reliably rejects it.
    pub fn confirm(&mut self) -> Result<(), Error> {
        let state = *self.state();
        match (&state.phase, &mut self.booted) {
            (Phase::Idle, _) => Ok(()),
            (Phase::Trial { target, .. }, Some(decision)) if decision.kind == BootKind::Trial => {
                let confirmed = DeviceState {
                    active: state.active.other(),
                    active_image: target.image,
                    committed_counter: state.committed_counter.max(target.security_counter),
                    phase: Phase::Idle,
                };
                self.journal.commit(self.flash.get_mut(), &confirmed)?;
                decision.kind = BootKind::Confirmed;
                Ok(())
            }
            _ => Err(Error::NotInTrial),
        }
    }

    /// Abandons the update: one in progress or pending is discarded; a trial is rejected (the
    /// next boot loads the old model). A no-op when idle.
    #[inline(never)]
    pub fn cancel(&mut self) -> Result<(), Error> {
        if self.state().phase == Phase::Idle {
            return Ok(());
        }
        let state = *self.state();
        self.revert(&state)
    }

    /// Starts applying a bundle, or resumes it if the journal shows this same bundle in
    /// progress. `work` must hold at least the header's `ram_required` bytes. Admission and
    /// every check run before anything is written. Feed the payload from
    /// [`UpdateSession::payload_offset`] on.
    ///
    /// The same as [`Updater::admit`] then [`Updater::begin_admitted`]. A firmware short of
    /// stack calls those two from different frames: signature verification is the deepest
    /// part of an update (several KiB with Ed25519), and the session `begin` returns lives
    /// in its caller's frame.
    pub fn begin<'u, 'w, A: Admit>(
        &'u mut self,
        admit: &mut A,
        header_bytes: &[u8; HEADER_LEN],
        signature: &[u8; SIGNATURE_LEN],
        work: &'w mut [u8],
    ) -> Result<UpdateSession<'u, 'w, F>, Error> {
        let admitted = self.admit(admit, header_bytes, signature)?;
        self.begin_admitted(admit, &admitted, work)
    }

    /// Admission alone (header, signature, SKU, model, anti-rollback counter, as `admit`
    /// decides), without starting anything: nothing is written.
    #[inline(never)]
    pub fn admit<A: Admit>(
        &self,
        admit: &mut A,
        header_bytes: &[u8; HEADER_LEN],
        signature: &[u8; SIGNATURE_LEN],
    ) -> Result<Admitted, Error> {
        let state = self.state();
        let header = admit.admit(header_bytes, signature, state.committed_counter)?;
        let mut hasher = Sha256::new();
        hasher.update(header_bytes);
        hasher.update(signature);
        Ok(Admitted {
            header,
            bundle_hash: hasher.finalize(),
            journal_offset: self.layout.state.offset,
            active_sha256: state.active_image.sha256,
            committed_counter: state.committed_counter,
        })
    }

    /// [`Updater::begin`] for a bundle [`Updater::admit`] admitted: the journal and layout
    /// checks, the base check (with `admit`, which must be the admission that made the token:
    /// that is not checked), then the session. A token from an updater with its journal
    /// elsewhere, or from before this device confirmed another model or committed another
    /// counter, is refused ([`Error::StaleAdmission`]): admit the bundle again.
    #[inline(never)]
    pub fn begin_admitted<'u, 'w, A: Admit>(
        &'u mut self,
        admit: &mut A,
        admitted: &Admitted,
        work: &'w mut [u8],
    ) -> Result<UpdateSession<'u, 'w, F>, Error> {
        self.check_fresh(admitted)?;
        let state = self.journal.state();
        let header = &admitted.header;
        let target = self.check_fits(state, header, admitted.bundle_hash)?;
        let in_progress = state.phase.progress_of(&target.bundle_hash);
        // Every check on the stream (the work buffer, a checkpoint) comes before anything is
        // written. Where the stream starts is within the result, and `check_fits` keeps the
        // result within the slot.
        let checkpoint = match &in_progress {
            Some(Some(checkpoint)) => Some(checkpoint),
            _ => None,
        };
        let stream = PayloadStream::check(header, work, checkpoint)?;
        let active = state.active;
        let target_region = self.layout.slot(active.other());
        // The record that starts the update, built from the journal's state where it lies.
        let updating = DeviceState {
            phase: Phase::Updating {
                target,
                checkpoint: None,
            },
            ..*state
        };
        let Self {
            flash,
            layout,
            geometry,
            journal,
            ..
        } = self;
        let flash: &'u RefCell<F> = flash;
        let mut base = FlashBase::new(flash, layout.slot(active));
        if in_progress.is_none() {
            if !header.flags.contains(Flags::FULL_IMAGE) {
                admit.check_base(header, &mut base)?;
            }
            journal.commit(&mut *flash_io::borrow(flash)?, &updating)?;
        }
        // Built where the caller keeps the session: nothing below can fail, so no part of it
        // passes through a `Result` on this frame.
        let output_offset = stream.output_offset();
        Ok(UpdateSession::new(
            flash,
            journal,
            PayloadStream::at(header, stream),
            base,
            FlashResult::at(flash, target_region, *geometry, output_offset),
            target,
            target_region,
            header.payload_len,
            in_progress.is_some(),
        ))
    }

    /// Refuses a token from an updater with its journal elsewhere, or from before this device
    /// confirmed another model or committed another counter.
    fn check_fresh(&self, admitted: &Admitted) -> Result<(), Error> {
        let state = self.journal.state();
        if admitted.journal_offset != self.layout.state.offset
            || admitted.active_sha256 != state.active_image.sha256
            || admitted.committed_counter != state.committed_counter
        {
            return Err(Error::StaleAdmission);
        }
        Ok(())
    }

    /// The checks only the journal and the layout can make: no trial running (nor a model
    /// loaded from the inactive slot in this power cycle, then cancelled), the bundle
    /// resumable on this flash, its result fitting the inactive slot, its base the confirmed
    /// model, and no newer update in progress or pending that it would replace. Returns what
    /// the journal records for the update.
    fn check_fits(
        &self,
        state: &DeviceState,
        header: &BundleHeader,
        bundle_hash: [u8; 32],
    ) -> Result<UpdateTarget, Error> {
        // The firmware may still run the model a cancelled trial loaded from the inactive
        // slot (in place, on many parts) until it resets: that slot is not written before.
        let booted_inactive = self.booted.is_some_and(|d| d.slot == state.active.other());
        if matches!(state.phase, Phase::Trial { .. }) || booted_inactive {
            return Err(Error::UpdateDuringTrial);
        }
        let erase_size = self.geometry.erase_size;
        if crate::divide::rem(header.chunk_align(), erase_size as u64) != 0 {
            return Err(Error::ChunkAlignBelowEraseSize {
                chunk_align: header.chunk_align(),
                erase_size,
            });
        }
        let target_region = self.layout.slot(state.active.other());
        if header.result_len > u64::from(target_region.len) {
            return Err(Error::SlotTooSmall {
                needed: header.result_len,
                slot_len: u64::from(target_region.len),
            });
        }
        if !header.flags.contains(Flags::FULL_IMAGE)
            && (header.base_len != state.active_image.len
                || header.base_sha256 != state.active_image.sha256)
        {
            return Err(Error::BaseNotActiveImage);
        }
        if let Some(current) = state.phase.target() {
            if current.bundle_hash != bundle_hash
                && header.security_counter < current.security_counter
            {
                return Err(Error::CounterBelowPending {
                    bundle: header.security_counter,
                    pending: current.security_counter,
                });
            }
        }
        Ok(UpdateTarget {
            bundle_hash,
            image: SlotImage {
                len: header.result_len,
                sha256: header.result_sha256,
            },
            security_counter: header.security_counter,
        })
    }
}

/// Bytes read per step when a trial slot is re-checked at boot.
const BOOT_CHECK_STEP: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::layout::Region;
    use crate::storage::testing::{
        K4, OLD, WORK, admission, device, genuine, layout, provisioned, provisioned_with, signer,
        split, trusted,
    };

    #[test]
    fn an_admission_starts_nothing_on_another_updater() {
        let bundle = genuine();
        let (header, signature, _) = split(&bundle);
        let keys = [trusted(&signer())];
        let mut scratch = [0u8; 64];
        let mut admit = admission(&keys, &mut scratch);
        let mut work = [0u8; WORK];
        // Another updater: the same slots and models, its journal elsewhere.
        let mut other = provisioned_with(
            device(),
            FlashLayout {
                state: Region::new(6 * K4, 2 * K4),
                staging: None,
                ..layout()
            },
        );
        let mut up = provisioned(device());
        let admitted = up.admit(&mut admit, header, signature).unwrap();
        let before = other.flash().counts().mutations();
        assert_eq!(
            other.begin_admitted(&mut admit, &admitted, &mut work).err(),
            Some(Error::StaleAdmission)
        );
        assert_eq!(other.flash().counts().mutations(), before);
        assert!(up.begin_admitted(&mut admit, &admitted, &mut work).is_ok());
    }

    #[test]
    fn reads_of_a_slot_stay_inside_it() {
        let mut updater = provisioned(device());
        let mut buf = [0u8; 2];
        updater.read_slot(Slot::A, 4998, &mut buf).unwrap();
        assert_eq!(buf, OLD[4998..]);
        let slot_len = u64::from(2 * K4);
        assert_eq!(
            updater.read_slot(Slot::A, slot_len - 1, &mut buf),
            Err(Error::SlotTooSmall {
                needed: slot_len + 1,
                slot_len
            })
        );
        assert_eq!(
            updater.read_slot(Slot::B, u64::MAX, &mut buf),
            Err(Error::SlotTooSmall {
                needed: u64::MAX,
                slot_len
            })
        );
    }
}
