//! A bounds-checked little-endian cursor over the file bytes, used by the GGUF and safetensors
//! parsers. Every read returns a [`ModelError`] naming the offset instead of panicking.

use super::error::{ErrorKind, ModelError};
use super::format::Format;

/// Reads little-endian values from a byte slice, tracking the absolute file offset.
pub(crate) struct Reader<'a> {
    format: Format,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(format: Format, bytes: &'a [u8]) -> Self {
        Reader {
            format,
            bytes,
            pos: 0,
        }
    }

    /// Current offset from the start of the file.
    pub(crate) fn pos(&self) -> u64 {
        self.pos as u64
    }

    /// Bytes left after the cursor.
    pub(crate) fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    /// An error at the current offset.
    pub(crate) fn error(&self, kind: ErrorKind) -> ModelError {
        ModelError::new(self.format, self.pos(), kind)
    }

    /// Takes the next `len` bytes.
    pub(crate) fn take(&mut self, len: u64, what: &'static str) -> Result<&'a [u8], ModelError> {
        let available = self.remaining();
        if len > available {
            return Err(self.error(ErrorKind::Truncated {
                what,
                needed: len,
                available,
            }));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.bytes[start..self.pos])
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ModelError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Rejects a `count` of items of at least `min_item_bytes` each that cannot fit in the rest
    /// of the file, before anything is allocated or looped over for it.
    pub(crate) fn check_count(
        &self,
        count: u64,
        min_item_bytes: u64,
        what: &'static str,
    ) -> Result<(), ModelError> {
        if count.saturating_mul(min_item_bytes) > self.remaining() {
            return Err(self.error(ErrorKind::Implausible {
                what,
                value: count,
                file_len: self.bytes.len() as u64,
            }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let mut r = Reader::new(Format::Gguf, &[1, 0, 0, 0, 2]);
        assert_eq!(r.u32("a").unwrap(), 1);
        assert!(r.u32("b").is_err());
        assert_eq!(r.pos(), 4);
        assert!(r.check_count(2, 1, "n").is_err());
        assert!(r.check_count(1, 1, "n").is_ok());
        assert!(r.check_count(u64::MAX, u64::MAX, "n").is_err());
        assert!(r.take(u64::MAX, "x").is_err());
    }
}
