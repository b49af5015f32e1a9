//! Streaming application of a payload: chunk framing, work-buffer layout, output buffering
//! and resumable progress.

pub mod checkpoint;
pub mod decoder;
pub(crate) mod output;
#[cfg(feature = "std")]
pub mod trace;
pub mod workspace;

pub use checkpoint::Checkpoint;
pub use decoder::{Fed, PayloadDecoder};
pub use workspace::required_work_len;
