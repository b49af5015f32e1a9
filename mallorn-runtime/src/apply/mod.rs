//! Streaming application of a payload: segment authentication, chunk framing, work-buffer
//! layout, output buffering and resumable progress.

pub mod authenticator;
pub mod checkpoint;
pub mod chunk_starts;
pub mod decoder;
pub(crate) mod output;
pub mod stream;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(feature = "trace")]
pub mod trace;
pub mod workspace;

pub use authenticator::{Authenticator, SegmentResume};
pub use checkpoint::{Checkpoint, Progress};
pub use chunk_starts::ChunkStarts;
pub use decoder::{Fed, PayloadDecoder};
pub use stream::{PayloadStream, StreamFed};
pub use workspace::required_work_len;
