//! One update in flight: the firmware feeds payload fragments of any size as they arrive;
//! after every chunk the session puts the result on flash and journals a checkpoint, so a
//! power cut costs at most one chunk. `finish` checks both digests and marks the update
//! pending.

use core::cell::RefCell;

use embedded_storage::nor_flash::NorFlash;

use crate::apply::{Checkpoint, PayloadDecoder};
use crate::error::Error;
use crate::format::SIGNED_BUNDLE_PREFIX;
use crate::storage::base_slot::FlashBase;
use crate::storage::flash_io;
use crate::storage::journal::Journal;
use crate::storage::layout::Slot;
use crate::storage::result_slot::FlashResult;
use crate::storage::state::{DeviceState, Phase, SlotImage, UpdateTarget};

/// A verified result, written and recorded as pending: the next boot tries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// The slot that holds it.
    pub slot: Slot,
    /// The model.
    pub image: SlotImage,
}

/// An update being applied. Returned by [`crate::storage::Updater::begin`]. After an error
/// from [`UpdateSession::feed`], drop the session: calling `begin` again with the same bundle
/// resumes from the last checkpoint.
pub struct UpdateSession<'u, 'w, F: NorFlash> {
    flash: &'u RefCell<F>,
    journal: &'u mut Journal,
    decoder: PayloadDecoder<'w>,
    base: FlashBase<'u, F>,
    result: FlashResult<'u, F>,
    target: UpdateTarget,
    target_slot: Slot,
    payload_len: u64,
    resumed: bool,
}

impl<'u, 'w, F: NorFlash> UpdateSession<'u, 'w, F> {
    #[expect(
        clippy::too_many_arguments,
        reason = "crate-private constructor of the parts"
    )]
    pub(crate) fn new(
        flash: &'u RefCell<F>,
        journal: &'u mut Journal,
        decoder: PayloadDecoder<'w>,
        base: FlashBase<'u, F>,
        result: FlashResult<'u, F>,
        target: UpdateTarget,
        target_slot: Slot,
        payload_len: u64,
        resumed: bool,
    ) -> Self {
        Self {
            flash,
            journal,
            decoder,
            base,
            result,
            target,
            target_slot,
            payload_len,
            resumed,
        }
    }

    /// Payload bytes applied so far: feed the payload from this offset on.
    pub fn payload_offset(&self) -> u64 {
        self.decoder.payload_offset()
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
        self.decoder.is_complete()
    }

    /// The slot being written.
    pub fn target_slot(&self) -> Slot {
        self.target_slot
    }

    /// Applies the next payload bytes (any number, contiguous from
    /// [`UpdateSession::payload_offset`]).
    pub fn feed(&mut self, mut fragment: &[u8]) -> Result<(), Error> {
        while !fragment.is_empty() {
            let fed = self
                .decoder
                .feed(fragment, &mut self.base, &mut self.result)?;
            fragment = &fragment[fed.consumed..];
            match fed.checkpoint {
                Some(checkpoint) => self.persist(checkpoint)?,
                None if fed.consumed == 0 => {
                    return Err(Error::CorruptPayload {
                        offset: self.decoder.payload_offset(),
                        reason: "decoder made no progress",
                    });
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Puts the chunk's result on flash, then journals the checkpoint after it.
    fn persist(&mut self, checkpoint: Checkpoint) -> Result<(), Error> {
        self.result.sync()?;
        let state = DeviceState {
            phase: Phase::Updating {
                target: self.target,
                checkpoint: Some(checkpoint),
            },
            ..self.journal.state().clone()
        };
        self.journal.append(&mut *self.flash.borrow_mut(), state)
    }

    /// Reads bundle bytes from a flash region (for applying a staged bundle).
    pub(crate) fn read_flash(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        flash_io::read(&mut *self.flash.borrow_mut(), offset, buf)
    }

    /// Checks that the payload and the result hash to the header's digests, and records the
    /// update as pending. If a digest does not match, the update is discarded (its running
    /// hashes are wrong, so it cannot be resumed) and the error returned.
    pub fn finish(self) -> Result<Finished, Error> {
        let Self {
            flash,
            journal,
            decoder,
            mut result,
            target,
            target_slot,
            ..
        } = self;
        match decoder.finish() {
            Ok(()) => {}
            Err(e @ (Error::PayloadHashMismatch | Error::ResultHashMismatch)) => {
                let idle = DeviceState {
                    phase: Phase::Idle,
                    ..journal.state().clone()
                };
                journal.append(&mut *flash.borrow_mut(), idle)?;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        result.sync()?;
        let pending = DeviceState {
            phase: Phase::Pending(target),
            ..journal.state().clone()
        };
        journal.append(&mut *flash.borrow_mut(), pending)?;
        Ok(Finished {
            slot: target_slot,
            image: target.image,
        })
    }
}
