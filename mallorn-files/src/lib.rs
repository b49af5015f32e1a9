//! Mallorn bundles applied to model files, for Linux devices (SoCs with 100 MB - 2 GB models)
//! and host tools (`cargo mallorn apply` uses it).
//!
//! The runtime's own payload stream (segment authentication, decoders, checkpoints) writes the
//! result through a bounded buffer into a file beside the output, so memory stays at the
//! decoder's work buffer plus 1 MiB whatever the model size. Progress is made durable at
//! checkpoints (the result synced, then a resume record replaced atomically), so a run that is
//! killed or loses power is resumed by running it again, without redoing what the last record
//! covers. The output path is only ever the old file or the complete, checked result: the
//! result replaces it by an atomic rename once its SHA-256 matches the signed header. OLD is
//! only read.
//!
//! The caller verifies the bundle first (signature, device, base): `mallorn_runtime::verify`
//! on a device, `mallorn_engine::signing` on a host.
//!
//! ```text
//! <output>.mallorn-partial      the result so far
//! <output>.mallorn-resume       bundle id + last durable checkpoint (replaced atomically)
//! <output>.mallorn-lock        held while an apply runs (a second one is refused)
//! <output>                      appears (or is replaced) only when the result checks out
//! ```
//!
//! [`FileSlots`] is the other way for devices: two model files and a journal file as one
//! flash under the runtime's `Updater`, with its trial boots, confirm and revert.

mod apply;
mod lock;
mod record;
mod result_file;
mod slots;

pub use apply::{
    CHECKPOINT_EVERY, FileApplied, FileApplyError, FileApplyOptions, MAX_WORK_LEN, apply_to_file,
};
pub use result_file::{FileResult, WRITE_BUFFER};
pub use slots::{FileFlashError, FileSlots, SLOT_ERASE_SIZE};
