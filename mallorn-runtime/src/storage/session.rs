//! One update in flight: the firmware feeds payload fragments of any size as they arrive.
//! Every segment is authenticated before it is decoded; after every chunk the session puts
//! the result on flash (each write read back) and journals a checkpoint, so a power cut costs
//! at most one chunk. `finish` reads the whole result back from the slot, checks its SHA-256
//! and only then marks the update pending.

use core::cell::RefCell;

use embedded_storage::nor_flash::NorFlash;

use crate::apply::{Checkpoint, PayloadStream};
use crate::error::Error;
use crate::format::SIGNED_BUNDLE_PREFIX;
use crate::storage::base_slot::FlashBase;
use crate::storage::flash_io;
use crate::storage::journal::Journal;
use crate::storage::layout::{Region, Slot};
use crate::storage::result_slot::FlashResult;
use crate::storage::slot_check::slot_matches;
use crate::storage::state::{DeviceState, Phase, SlotImage, UpdateTarget};

/// A verified result, written, read back and recorded as pending: the next boot tries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// The slot that holds it.
    pub slot: Slot,
    /// The model.
    pub image: SlotImage,
}

/// An update being applied. Returned by [`crate::storage::Updater::begin`].
///
/// What to do after an error from [`UpdateSession::feed`]:
/// - [`Error::PayloadSegmentMismatch`]: the segment was altered or damaged in transit and
///   nothing of it was used. Feed again from [`UpdateSession::payload_offset`] (the session
///   stays usable).
/// - [`Error::PayloadTooLong`]: the fragment goes on past the payload's end (padding, or bytes
///   that are not the bundle's). The payload before it was applied and nothing after it was
///   used; the session stays usable: call [`UpdateSession::finish`].
/// - any other error: the session has ended (later calls return [`Error::SessionEnded`]).
///   Drop it and call `begin` again with the genuine bundle: after a flash or journal fault
///   it resumes from the last checkpoint; after anything that makes the authenticated
///   payload unusable (a corrupt chunk, a base that no longer matches) the update was
///   discarded and starts over. No state needs [`crate::storage::Updater::cancel`] to leave.
pub struct UpdateSession<'u, 'w, F: NorFlash> {
    flash: &'u RefCell<F>,
    journal: &'u mut Journal,
    stream: PayloadStream<'w>,
    base: FlashBase<'u, F>,
    result: FlashResult<'u, F>,
    target: UpdateTarget,
    target_region: Region,
    payload_len: u64,
    resumed: bool,
    ended: bool,
}

impl<'u, 'w, F: NorFlash> UpdateSession<'u, 'w, F> {
    #[expect(
        clippy::too_many_arguments,
        reason = "crate-private constructor of the parts"
    )]
    #[inline(always)]
    pub(crate) fn new(
        flash: &'u RefCell<F>,
        journal: &'u mut Journal,
        stream: PayloadStream<'w>,
        base: FlashBase<'u, F>,
        result: FlashResult<'u, F>,
        target: UpdateTarget,
        target_region: Region,
        payload_len: u64,
        resumed: bool,
    ) -> Self {
        Self {
            flash,
            journal,
            stream,
            base,
            result,
            target,
            target_region,
            payload_len,
            resumed,
            ended: false,
        }
    }

    /// Payload offset to feed from: everything before it is authenticated and applied, or
    /// waits in the segment buffer.
    pub fn payload_offset(&self) -> u64 {
        self.stream.wire_offset()
    }

    /// Bundle offset (header and signature included) to fetch the rest from.
    pub fn bundle_offset(&self) -> u64 {
        SIGNED_BUNDLE_PREFIX as u64 + self.payload_offset()
    }

    /// Payload length from the header.
    pub fn payload_len(&self) -> u64 {
        self.payload_len
    }

    /// Whether this session continues an interrupted update of the same bundle.
    pub fn is_resumed(&self) -> bool {
        self.resumed
    }

    /// Whether the whole payload has been applied (call [`UpdateSession::finish`]).
    pub fn is_complete(&self) -> bool {
        self.stream.is_complete()
    }

    /// The slot being written.
    pub fn target_slot(&self) -> Slot {
        self.journal.state().active.other()
    }

    /// Applies the next payload bytes (any number, contiguous from
    /// [`UpdateSession::payload_offset`]). See the type's documentation for errors.
    pub fn feed(&mut self, mut fragment: &[u8]) -> Result<(), Error> {
        if self.ended {
            return Err(Error::SessionEnded);
        }
        loop {
            // Bytes past the payload's end are not the bundle's (a transport's padding, an
            // attacker's junk): refused, and the applied payload stays for `finish`.
            if self.stream.is_complete() && !fragment.is_empty() {
                return Err(Error::PayloadTooLong);
            }
            let fed = self
                .stream
                .feed(fragment, &mut self.base, &mut self.result)
                .map_err(|e| self.fail(e))?;
            fragment = &fragment[fed.consumed..];
            match fed.checkpoint {
                Some(checkpoint) => self.persist(checkpoint).map_err(|e| self.fail(e))?,
                None => return Ok(()),
            }
        }
    }

    /// Decides what an error means for the update; returns it.
    fn fail(&mut self, error: Error) -> Error {
        match error {
            // Nothing of the segment was used: the stream goes on.
            Error::PayloadSegmentMismatch { .. } => {}
            // The device's own faults: the checkpoint stays, `begin` resumes.
            Error::Flash(_)
            | Error::ProgramVerifyFailed { .. }
            | Error::JournalWriteFailed
            | Error::JournalExhausted => self.ended = true,
            // Authenticated bytes that cannot be applied: resuming would fail the same way,
            // so the update is discarded and `begin` starts over (re-checking the base). If
            // recording that fails, `begin` resumes and ends up here again.
            _ => {
                self.ended = true;
                let _ = discard(self.flash, self.journal);
            }
        }
        error
    }

    /// Puts the chunk's result on flash, then journals the checkpoint after it.
    fn persist(&mut self, checkpoint: Checkpoint) -> Result<(), Error> {
        self.result.sync()?;
        let state = DeviceState {
            phase: Phase::Updating {
                target: self.target,
                checkpoint: Some(checkpoint),
            },
            ..*self.journal.state()
        };
        self.journal
            .append(&mut *flash_io::borrow(self.flash)?, &state)
    }

    /// Reads bundle bytes from a flash region (for applying a staged bundle).
    pub(crate) fn read_flash(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        flash_io::read(&mut *flash_io::borrow(self.flash)?, offset, buf)
    }

    /// Checks that the whole payload was authenticated and applied, reads the result back
    /// from the slot and checks its SHA-256, and records the update as pending. A result that
    /// does not read back as the header's is discarded ([`Error::ResultHashMismatch`]);
    /// `begin` then starts over. The session ends here, whatever the result: later calls
    /// return [`Error::SessionEnded`]. (It takes `&mut self` rather than `self` so that a
    /// session is not copied into this call's frame: a firmware holds one session, not two.)
    #[inline(never)]
    pub fn finish(&mut self) -> Result<Finished, Error> {
        if self.ended {
            return Err(Error::SessionEnded);
        }
        self.ended = true;
        let read_buf = self.stream.finish()?;
        self.result.sync()?;
        let on_flash = slot_matches(
            &mut *flash_io::borrow(self.flash)?,
            self.target_region,
            &self.target.image,
            read_buf,
        )?;
        if !on_flash {
            discard(self.flash, self.journal)?;
            return Err(Error::ResultHashMismatch);
        }
        let pending = DeviceState {
            phase: Phase::Pending(self.target),
            ..*self.journal.state()
        };
        self.journal
            .commit(&mut *flash_io::borrow(self.flash)?, &pending)?;
        Ok(Finished {
            slot: self.journal.state().active.other(),
            image: self.target.image,
        })
    }
}

/// Records that the update in progress is abandoned (the next `begin` starts over).
fn discard<F: NorFlash>(flash: &RefCell<F>, journal: &mut Journal) -> Result<(), Error> {
    let idle = DeviceState {
        phase: Phase::Idle,
        ..*journal.state()
    };
    journal.commit(&mut *flash_io::borrow(flash)?, &idle)
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::format::header::tests::sample;
    use crate::storage::Phase;
    use crate::storage::testing::{Rig, bundle_with_trailer, signer};

    #[test]
    fn a_fragment_past_the_end_is_refused_and_the_session_goes_on() {
        let mut rig = Rig::new();
        let (mut session, payload) = rig.begin();
        session.feed(payload).unwrap();
        assert!(session.is_complete());
        assert_eq!(session.feed(&[0]), Err(Error::PayloadTooLong));
        // Nothing was fed: the complete update still finishes.
        session.finish().unwrap();
        assert!(matches!(rig.updater.state().phase, Phase::Pending(_)));
    }

    #[test]
    fn bytes_past_the_payload_are_refused_and_the_update_stays() {
        let mut rig = Rig::new();
        let (mut session, payload) = rig.begin();
        // Padding after the payload in the same fragment (a radio block filled to its size,
        // or junk an attacker appended): refused once the payload is applied, and nothing of
        // the applied update is lost.
        let mut padded = payload.to_vec();
        padded.extend_from_slice(&[0xAA; 16]);
        assert_eq!(session.feed(&padded), Err(Error::PayloadTooLong));
        assert!(session.is_complete());
        assert_eq!(session.feed(&[0]), Err(Error::PayloadTooLong));
        session.feed(&[]).unwrap();
        session.finish().unwrap();
        assert!(matches!(rig.updater.state().phase, Phase::Pending(_)));
    }

    #[test]
    fn after_an_error_in_the_signed_payload_the_update_is_discarded() {
        // Bytes after the last chunk inside the signed payload: authenticated, so resuming
        // would meet them again.
        let mut rig = Rig::with_bundle(bundle_with_trailer(sample(), &signer(), &[0]));
        let (mut session, payload) = rig.begin();
        assert!(matches!(
            session.feed(payload),
            Err(Error::CorruptPayload { .. })
        ));
        assert_eq!(session.feed(&[]), Err(Error::SessionEnded));
        assert!(matches!(session.finish(), Err(Error::SessionEnded)));
        assert_eq!(rig.updater.state().phase, Phase::Idle);
    }

    #[test]
    fn a_session_ends_at_finish_whatever_its_result() {
        let mut rig = Rig::new();
        let (mut session, payload) = rig.begin();
        // Finished early: the payload is short, and the session is over all the same.
        session.feed(&payload[..payload.len() / 2]).unwrap();
        assert_eq!(session.finish(), Err(Error::PayloadTruncated));
        assert_eq!(
            session.feed(&payload[payload.len() / 2..]),
            Err(Error::SessionEnded)
        );
        assert_eq!(session.finish(), Err(Error::SessionEnded));

        // Finished complete: nothing more is taken, and the pending record is not rewritten.
        let (mut session, payload) = rig.begin();
        session
            .feed(&payload[session.payload_offset() as usize..])
            .unwrap();
        session.finish().unwrap();
        assert_eq!(session.feed(&[]), Err(Error::SessionEnded));
        assert_eq!(session.finish(), Err(Error::SessionEnded));
        assert!(matches!(rig.updater.state().phase, Phase::Pending(_)));
    }
}
