//! The state journal: an append-only log of complete [`DeviceState`] snapshots in a ring of
//! banks. Appending never rewrites a written word; when the current bank is full (and at the
//! first append after a reboot), the oldest bank is erased and the log continues there, so
//! the newest valid record is never in the bank being erased, and records are only written
//! into a bank erased in the same power cycle. The highest valid sequence number is the
//! current state.

pub(crate) mod geometry;
pub mod record;

use embedded_storage::nor_flash::{NorFlash, NorFlashErrorKind};

use crate::error::Error;
use crate::storage::flash_io;
use crate::storage::journal::geometry::JournalGeometry;
use crate::storage::journal::record::{Decoded, MAX_RECORD_LEN, decode, encode};
use crate::storage::state::DeviceState;

/// The journal of one device, with the current state and where the next record goes.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    geometry: JournalGeometry,
    /// Bank being written: the newest record's, or a later one once this power cycle erased
    /// it (failed attempts may move it more than one bank past the newest record).
    bank: u32,
    /// Bank of the current state's record, which is never erased (`None` before `format`
    /// wrote the first record).
    state_bank: Option<u32>,
    /// Next record slot to write in `bank`; `per_bank` when the next append must first erase
    /// the following bank (the bank is full, or it was not erased in this power cycle).
    next: u32,
    /// Sequence number of the newest record, or of the last write attempted (an attempt
    /// consumes its number even when it fails: the record may have landed).
    seq: u32,
    state: DeviceState,
    /// Slots that failed to read when the journal was opened.
    unreadable: u32,
}

impl Journal {
    /// Reads the journal: the valid record with the highest sequence number is the state.
    /// A slot that fails to read is skipped and counted, never trusted: the state comes from
    /// the slots that read.
    pub(crate) fn open<F: NorFlash>(
        flash: &mut F,
        geometry: JournalGeometry,
    ) -> Result<Self, Error> {
        let mut buf = [0u8; MAX_RECORD_LEN];
        let slot = &mut buf[..geometry.rec_len];
        let mut newest: Option<(u32, u32, DeviceState)> = None;
        let mut unreadable = 0u32;
        for bank in 0..geometry.banks {
            for index in 0..geometry.per_bank {
                let at = geometry.slot_offset(bank, index);
                // Read twice before giving a slot up: a glitch that hid both records of a
                // transition would let the first append erase them.
                let read =
                    flash_io::read(flash, at, slot).or_else(|_| flash_io::read(flash, at, slot));
                if read.is_err() {
                    unreadable += 1;
                    continue;
                }
                if let Decoded::Valid { seq, state } = decode(slot) {
                    if newest.as_ref().is_none_or(|n| seq > n.0) {
                        newest = Some((seq, bank, state));
                    }
                }
            }
        }
        let (seq, bank, state) = newest.ok_or(if unreadable > 0 {
            Error::JournalUnreadable { unreadable }
        } else {
            Error::JournalBlank
        })?;
        // An unreadable slot may hold a record newer than any that read (written after it,
        // then damaged). Its number is below `seq` plus the number of slots, so the next
        // record skips that far and outranks it should it ever read again.
        let seq = if unreadable > 0 {
            seq.checked_add(geometry.slots())
                .ok_or(Error::JournalExhausted)?
        } else {
            seq
        };
        // The first append of this power cycle goes to a freshly erased bank: a write torn by
        // the last power cut may have left a slot that reads erased but is not (a partly
        // programmed word, its ECC bits), so nothing read back after a cut is written into.
        let next = geometry.per_bank;
        Ok(Self {
            geometry,
            bank,
            state_bank: Some(bank),
            next,
            seq,
            state,
            unreadable,
        })
    }

    /// Erases the whole state region and writes `state` as the first record. For provisioning
    /// a device: it forgets everything the journal held.
    pub(crate) fn format<F: NorFlash>(
        flash: &mut F,
        geometry: JournalGeometry,
        state: DeviceState,
    ) -> Result<Self, Error> {
        for bank in 0..geometry.banks {
            let from = geometry.bank_offset(bank);
            flash_io::erase(flash, from, from + geometry.bank_len as u64)?;
        }
        let mut journal = Self {
            geometry,
            bank: 0,
            state_bank: None,
            next: 0,
            seq: 0,
            state,
            unreadable: 0,
        };
        journal.commit(flash, &state)?;
        Ok(journal)
    }

    /// The current state.
    pub(crate) fn state(&self) -> &DeviceState {
        &self.state
    }

    /// Sequence number of the current state's record (or of a later failed attempt).
    pub(crate) fn seq(&self) -> u32 {
        self.seq
    }

    /// Slots that failed to read when the journal was opened.
    pub(crate) fn unreadable(&self) -> u32 {
        self.unreadable
    }

    /// Records a state transition: `state` is appended twice, so one record that no longer
    /// reads (a read error, a bit lost since) cannot take the device back to the state
    /// before it, such as an update confirmed and its counter committed. `state` is current
    /// once the first record is written; a failed second one only loses the spare.
    pub(crate) fn commit<F: NorFlash>(
        &mut self,
        flash: &mut F,
        state: &DeviceState,
    ) -> Result<(), Error> {
        self.append(flash, state)?;
        let _spare = self.append(flash, state);
        Ok(())
    }

    /// Appends a record for `state`, which becomes the current state once it is written and
    /// read back intact. A slot that fails to take it (a worn or dead cell) is left behind
    /// and the record goes into the next one, up to [`WRITE_ATTEMPTS`] slots, so one bad slot
    /// cannot fail the same append at every power cycle.
    pub(crate) fn append<F: NorFlash>(
        &mut self,
        flash: &mut F,
        state: &DeviceState,
    ) -> Result<(), Error> {
        let mut attempt = 1;
        loop {
            match self.write_next(flash, state) {
                // A slot that did not take the record, or a driver's failure there; not a
                // configuration error (out of bounds, misaligned), which every slot repeats.
                Err(Error::JournalWriteFailed | Error::Flash(NorFlashErrorKind::Other))
                    if attempt < WRITE_ATTEMPTS =>
                {
                    attempt += 1;
                }
                written => return written,
            }
        }
    }

    /// Writes `state` into the next slot, erasing the following bank first when this one is
    /// full or was not erased in this power cycle. (Out of line: the retry loop would keep
    /// its temporaries beside the record buffer.)
    #[inline(never)]
    fn write_next<F: NorFlash>(&mut self, flash: &mut F, state: &DeviceState) -> Result<(), Error> {
        let seq = self.seq.checked_add(1).ok_or(Error::JournalExhausted)?;
        let g = self.geometry;
        if self.next >= g.per_bank {
            // The following bank holds only records older than the current state's, unless
            // every write since that record failed and the ring came round to it.
            let bank = (self.bank + 1) % g.banks;
            if self.state_bank == Some(bank) {
                return Err(Error::JournalWriteFailed);
            }
            let from = g.bank_offset(bank);
            flash_io::erase(flash, from, from + g.bank_len as u64)?;
            self.bank = bank;
            self.next = 0;
        }
        let index = self.next;
        // Move on before writing: a failed write may leave the slot dirty. The number is
        // consumed too: a write reported failed may have landed, and the next record must
        // outrank it.
        self.next += 1;
        self.seq = seq;
        let mut buf = [0u8; MAX_RECORD_LEN];
        let record = &mut buf[..g.rec_len];
        encode(state, seq, record);
        let at = g.slot_offset(self.bank, index);
        flash_io::write_verified(flash, at, record).map_err(|e| match e {
            Error::ProgramVerifyFailed { .. } => Error::JournalWriteFailed,
            other => other,
        })?;
        self.state = *state;
        self.state_bank = Some(self.bank);
        Ok(())
    }
}

/// Attempts (slots, or an erase tried again) one append makes before it reports its failure.
pub const WRITE_ATTEMPTS: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{CutMode, Fault, FlashOp, Persistence, SimFlash};
    use crate::storage::journal::record::tests::updating;
    use crate::storage::layout::Region;

    type Flash = SimFlash<8, 1024, 4>;

    fn geometry() -> JournalGeometry {
        // 3 banks of 1 KiB, 4 records (208 bytes) each.
        JournalGeometry::new(Region::new(1024, 3 * 1024), 1024, 8)
    }

    fn flash() -> Flash {
        Flash::new(8 * 1024)
    }

    #[test]
    fn appends_wrap_around_the_banks_and_reopen_finds_the_newest() {
        let mut f = flash();
        let mut j = Journal::format(&mut f, geometry(), updating(0)).unwrap();
        for n in 1..40 {
            j.append(&mut f, &updating(n)).unwrap();
            let reopened = Journal::open(&mut f, geometry()).unwrap();
            assert_eq!(reopened.state(), &updating(n));
            // `format` wrote its state twice.
            assert_eq!(reopened.seq(), n + 2);
            assert_eq!(reopened.bank, j.bank);
        }
        // 41 records in banks of 4: the ring went round three times.
        assert_eq!(f.counts().erases, 3 + 10);
        // After a reboot the first append starts a fresh bank.
        let mut reopened = Journal::open(&mut f, geometry()).unwrap();
        reopened.append(&mut f, &updating(40)).unwrap();
        assert_eq!(f.counts().erases, 3 + 11);
        assert_eq!((reopened.bank, reopened.next), ((j.bank + 1) % 3, 1));
        assert_eq!(f.refused_writes(), 0);
    }

    /// A transition is written twice: with either of its records unreadable or damaged, the
    /// journal still opens on it, not on the state before it.
    #[test]
    fn a_transition_survives_one_lost_record() {
        for copy in [1, 2] {
            for read_error in [false, true] {
                let mut f = flash();
                let mut j = Journal::format(&mut f, geometry(), updating(0)).unwrap();
                j.commit(&mut f, &updating(1)).unwrap();
                let lost = geometry().slot_offset(j.bank, j.next - 3 + copy) as u32 + 100;
                if read_error {
                    f.inject(Fault::ReadError {
                        addr: lost,
                        persistence: Persistence::Always,
                    });
                } else {
                    f.flip_bits(lost, 0x10);
                }
                f.reboot();
                let j = Journal::open(&mut f, geometry()).unwrap();
                assert_eq!(
                    j.state(),
                    &updating(1),
                    "copy {copy}, read error {read_error}"
                );
            }
        }
    }

    /// A slot whose read fails once (a bus glitch) is read again, not given up.
    #[test]
    fn a_read_glitch_does_not_make_a_slot_unreadable() {
        let mut f = flash();
        let mut j = Journal::format(&mut f, geometry(), updating(0)).unwrap();
        j.commit(&mut f, &updating(1)).unwrap();
        f.inject(Fault::ReadError {
            addr: geometry().slot_offset(j.bank, j.next - 1) as u32 + 100,
            persistence: Persistence::Once,
        });
        f.reboot();
        let j = Journal::open(&mut f, geometry()).unwrap();
        assert_eq!((j.state(), j.unreadable()), (&updating(1), 0));
        assert_eq!(f.fault_counts().read_errors, 1);
    }

    /// The first record of a power cycle always goes to slot 0 of a fresh bank: a slot that
    /// no longer takes a record (it reads back wrong, or fails to read) must not fail that
    /// append at every power cycle.
    #[test]
    fn a_slot_that_fails_is_left_behind() {
        let dead_cell = |addr| Fault::WeakCell { addr, mask: 0xFF };
        let dead_read = |addr| Fault::ReadError {
            addr,
            persistence: Persistence::Always,
        };
        for fault in [dead_cell as fn(u32) -> Fault, dead_read] {
            let mut f = flash();
            let j = Journal::format(&mut f, geometry(), updating(0)).unwrap();
            let next_bank = (j.bank + 1) % geometry().banks;
            f.inject(fault(geometry().slot_offset(next_bank, 0) as u32 + 20));
            f.reboot();
            let mut j = Journal::open(&mut f, geometry()).unwrap();
            j.commit(&mut f, &updating(1)).unwrap();
            f.reboot();
            assert_eq!(
                Journal::open(&mut f, geometry()).unwrap().state(),
                &updating(1)
            );
        }
    }

    /// When every write since the current state's record failed and the ring came round to
    /// that record's bank, the append fails instead of erasing it.
    #[test]
    fn the_current_states_bank_is_never_erased() {
        // Two banks of one 208-byte record each.
        let geometry = JournalGeometry::new(Region::new(1024, 512), 256, 8);
        let mut f = SimFlash::<8, 256, 4>::new(2048);
        Journal::format(&mut f, geometry, updating(0)).unwrap();
        for bank in 0..2 {
            f.inject(Fault::WeakCell {
                addr: geometry.slot_offset(bank, 0) as u32 + 20,
                mask: 0xFF,
            });
        }
        let mut j = Journal::open(&mut f, geometry).unwrap();
        assert_eq!(
            j.append(&mut f, &updating(1)),
            Err(Error::JournalWriteFailed)
        );
        f.reboot();
        assert_eq!(
            Journal::open(&mut f, geometry).unwrap().state(),
            &updating(0)
        );
    }

    #[test]
    fn a_blank_region_is_reported() {
        let mut f = flash();
        assert_eq!(
            Journal::open(&mut f, geometry()).err(),
            Some(Error::JournalBlank)
        );
    }

    /// Writes a record of `state` with sequence number `seq` into slot `index` of bank `bank`.
    fn plant(f: &mut Flash, bank: u32, index: u32, seq: u32) {
        let mut record = [0u8; 208];
        encode(&updating(seq), seq, &mut record);
        f.program_at(geometry().slot_offset(bank, index) as usize, &record);
    }

    #[test]
    fn the_last_sequence_number_is_never_passed() {
        let mut f = flash();
        Journal::format(&mut f, geometry(), updating(0)).unwrap();
        plant(&mut f, 0, 1, u32::MAX);
        let mut j = Journal::open(&mut f, geometry()).unwrap();
        assert_eq!(j.seq(), u32::MAX);
        let before = f.counts().mutations();
        assert_eq!(j.append(&mut f, &updating(1)), Err(Error::JournalExhausted));
        assert_eq!(f.counts().mutations(), before);
        assert_eq!(j.state(), &updating(u32::MAX));
    }

    #[test]
    fn skipping_past_an_unreadable_slot_cannot_wrap_the_sequence() {
        // With one of the 12 slots unreadable, the next record skips 12 numbers.
        for (newest, expected) in [
            (u32::MAX - 12, Ok(u32::MAX)),
            (u32::MAX - 11, Err(Error::JournalExhausted)),
        ] {
            let mut f = flash();
            Journal::format(&mut f, geometry(), updating(0)).unwrap();
            plant(&mut f, 0, 1, newest);
            f.inject(Fault::ReadError {
                addr: geometry().slot_offset(1, 0) as u32,
                persistence: Persistence::Always,
            });
            let opened = Journal::open(&mut f, geometry()).map(|j| j.seq());
            assert_eq!(opened, expected, "newest record {newest}");
        }
    }

    /// Writes one state the way a journal user does: one record, or a transition's two.
    type Write = fn(&mut Journal, &mut Flash, &DeviceState) -> Result<(), Error>;

    /// Cuts power at every mutation of a run of appends, before and in the middle of it:
    /// the reopened journal always holds the last completed state or the one being written,
    /// and appending continues without writing over anything.
    #[test]
    fn every_power_cut_leaves_the_old_or_the_new_state() {
        every_power_cut_leaves_the_old_or_the_new(|j, f, s| j.append(f, s));
    }

    /// The same for state transitions, each written as two records: a cut between the two
    /// copies, or in the second, keeps the new state.
    #[test]
    fn every_power_cut_in_a_transition_leaves_the_old_or_the_new_state() {
        every_power_cut_leaves_the_old_or_the_new(|j, f, s| j.commit(f, s));
    }

    fn every_power_cut_leaves_the_old_or_the_new(write: Write) {
        let mut clean = flash();
        let mut j = Journal::format(&mut clean, geometry(), updating(0)).unwrap();
        let start = clean.clone();
        let first = clean.counts().mutations();
        for n in 1..12 {
            write(&mut j, &mut clean, &updating(n)).unwrap();
        }
        let end = clean.counts().mutations();
        for at in first..end {
            for mode in [CutMode::Before, CutMode::During] {
                let mut f = start.clone();
                f.cut_power_at(at, mode);
                let mut j = Journal::open(&mut f, geometry()).unwrap();
                let mut done = 0;
                for n in 1..12 {
                    if write(&mut j, &mut f, &updating(n)).is_err() {
                        break;
                    }
                    done = n;
                }
                f.reboot();
                let mut j = Journal::open(&mut f, geometry()).unwrap();
                let got = *j.state();
                assert!(
                    got == updating(done) || got == updating(done + 1),
                    "cut at {at} {mode:?}: state after {done} writes is {got:?}"
                );
                for n in 100..106 {
                    write(&mut j, &mut f, &updating(n)).unwrap();
                }
                assert_eq!(
                    Journal::open(&mut f, geometry()).unwrap().state(),
                    &updating(105)
                );
                assert_eq!(f.refused_writes(), 0);
            }
        }
    }

    /// A write cut before it programmed a single bit reads as erased, yet the word was
    /// written to (the simulator, like ECC flash, refuses to program it again). The journal
    /// must not write there after the reboot.
    #[test]
    fn a_torn_write_that_reads_erased_is_not_written_over() {
        let mut f = flash();
        let j = Journal::format(&mut f, geometry(), updating(0)).unwrap();
        let torn_at = geometry().slot_offset(j.bank, j.next) as u32;
        f.replay_interrupted(
            &FlashOp::Write {
                offset: torn_at,
                data: vec![0xFF; 208],
            },
            7,
        )
        .unwrap();
        f.reboot();
        assert!(
            f.bytes()[torn_at as usize..][..208]
                .iter()
                .all(|&b| b == 0xFF)
        );
        let mut j = Journal::open(&mut f, geometry()).unwrap();
        j.append(&mut f, &updating(1)).unwrap();
        assert_eq!(
            Journal::open(&mut f, geometry()).unwrap().state(),
            &updating(1)
        );
        assert_eq!(f.refused_writes(), 0);
    }

    #[test]
    fn garbage_and_stale_records_in_other_banks_are_ignored() {
        let mut f = flash();
        let mut j = Journal::format(&mut f, geometry(), updating(0)).unwrap();
        for n in 1..4 {
            j.append(&mut f, &updating(n)).unwrap();
        }
        // Bank 2 is blank; fill its first slot with garbage as a half-finished erase would.
        f.program_at(1024 + 2 * 1024, &[0x5A; 208]);
        let mut j = Journal::open(&mut f, geometry()).unwrap();
        assert_eq!(j.state(), &updating(3));
        j.append(&mut f, &updating(4)).unwrap();
        j.append(&mut f, &updating(5)).unwrap();
        assert_eq!(
            Journal::open(&mut f, geometry()).unwrap().state(),
            &updating(5)
        );
        assert_eq!(f.refused_writes(), 0);
    }
}
