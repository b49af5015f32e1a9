//! The stored codec: the coded bytes are the output bytes.

use crate::apply::output::Io;
use crate::error::Error;
use crate::image::{BaseImage, ResultImage};

/// Copies `input` to the output. Needs no lookahead.
pub(crate) fn decode<B: BaseImage, R: ResultImage>(
    input: &[u8],
    io: &mut Io<'_, '_, B, R>,
    at: u64,
) -> Result<usize, Error> {
    io.push_slice(input, at)?;
    Ok(input.len())
}
