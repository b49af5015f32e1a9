//! A result image written to a file through a bounded buffer, so applying a bundle on a host
//! holds a few MiB of anonymous memory whatever the model size. The applier writes in
//! increasing, contiguous order and reads back earlier output (LZ copies): the part still in
//! the buffer comes from it, the rest from the file. The SHA-256 is computed as bytes arrive.
//! A resumed apply continues a file that already holds a prefix of the result.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use embedded_storage::nor_flash::NorFlashErrorKind;
use mallorn_runtime::Error;
use mallorn_runtime::image::ResultImage;
use sha2::{Digest, Sha256};

/// Bytes buffered before a write to the file.
pub const WRITE_BUFFER: usize = 1 << 20;

/// A result streamed into `file` (which must be empty and positioned at its start).
pub struct FileResult<'f> {
    file: &'f mut File,
    /// Output not yet in the file; it starts at `flushed`.
    buffer: Vec<u8>,
    flushed: u64,
    hash: Sha256,
    /// The first I/O error: the applier sees a flash error, the caller gets this one.
    io_error: Option<std::io::Error>,
}

impl<'f> FileResult<'f> {
    /// A result image over `file`.
    pub fn new(file: &'f mut File) -> Self {
        Self {
            file,
            buffer: Vec::with_capacity(WRITE_BUFFER),
            flushed: 0,
            hash: Sha256::new(),
            io_error: None,
        }
    }

    /// A result image over `file`, which holds the first `len` bytes of the result (more
    /// bytes after them, left by an interrupted run, are cut off). Reads the prefix once to
    /// hash it.
    pub fn resume(file: &'f mut File, len: u64) -> std::io::Result<Self> {
        file.set_len(len)?;
        file.seek(SeekFrom::Start(0))?;
        let mut hash = Sha256::new();
        let mut buffer = vec![0; WRITE_BUFFER];
        let mut left = len;
        while left > 0 {
            let n = (left.min(WRITE_BUFFER as u64)) as usize;
            file.read_exact(&mut buffer[..n])?;
            hash.update(&buffer[..n]);
            left -= n as u64;
        }
        buffer.clear();
        Ok(Self {
            file,
            buffer,
            flushed: len,
            hash,
            io_error: None,
        })
    }

    /// Puts every byte written so far on the storage (written out and `fsync`ed), so a
    /// checkpoint recorded after this call never points past what survives a power loss.
    pub fn sync(&mut self) -> std::io::Result<()> {
        if let Some(error) = self.io_error.take() {
            return Err(error);
        }
        self.flush()?;
        self.file.sync_data()
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.flushed + self.buffer.len() as u64
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes out the buffer and returns the SHA-256 of everything written, or the first I/O
    /// error met.
    pub fn finish(mut self) -> std::io::Result<[u8; 32]> {
        if let Some(error) = self.io_error.take() {
            return Err(error);
        }
        self.flush()?;
        Ok(self.hash.finalize().into())
    }

    /// The I/O error behind a flash error the applier reported, if any.
    pub fn take_io_error(&mut self) -> Option<std::io::Error> {
        self.io_error.take()
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.write_all(&self.buffer)?;
        self.flushed += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    fn failed(&mut self, error: std::io::Error) -> Error {
        self.io_error.get_or_insert(error);
        Error::Flash(NorFlashErrorKind::Other)
    }

    #[cfg(unix)]
    fn read_file(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&*self.file, buf, offset)
    }

    #[cfg(not(unix))]
    fn read_file(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(buf)?;
        self.file.seek(SeekFrom::End(0))?;
        Ok(())
    }
}

impl ResultImage for FileResult<'_> {
    fn write_result(&mut self, offset: u64, data: &[u8]) -> Result<(), Error> {
        if offset != self.len() {
            return Err(Error::ResultWriteOutOfOrder {
                offset,
                expected: self.len(),
            });
        }
        self.hash.update(data);
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= WRITE_BUFFER {
            self.flush().map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    fn read_result(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&end| end <= self.len())
            .ok_or(Error::CorruptPayload {
                offset,
                reason: "reference beyond the result",
            })?;
        // The part before the buffer comes from the file, the rest from the buffer.
        let from_file = self.flushed.saturating_sub(offset).min(buf.len() as u64) as usize;
        let (head, tail) = buf.split_at_mut(from_file);
        if !head.is_empty() {
            self.read_file(offset, head).map_err(|e| self.failed(e))?;
        }
        if !tail.is_empty() {
            let start = (offset + from_file as u64 - self.flushed) as usize;
            let stop = (end - self.flushed) as usize;
            tail.copy_from_slice(&self.buffer[start..stop]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_across_the_file_and_the_buffer_and_hashes_what_it_wrote() {
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..(WRITE_BUFFER as u32 * 3 + 777))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut result = FileResult::new(&mut file);
        for (i, piece) in data.chunks(65_537).enumerate() {
            result.write_result(i as u64 * 65_537, piece).unwrap();
            // Read back a span ending at what was just written (some of it in the file).
            let len = result.len();
            let mut back = vec![0; 200_000.min(len as usize)];
            let at = len - back.len() as u64;
            result.read_result(at, &mut back).unwrap();
            assert_eq!(back, data[at as usize..len as usize]);
        }
        let mut beyond = [0; 2];
        let len = result.len();
        assert!(matches!(
            result.read_result(len - 1, &mut beyond),
            Err(Error::CorruptPayload { .. })
        ));
        assert!(matches!(
            result.write_result(len + 1, &[1]),
            Err(Error::ResultWriteOutOfOrder { .. })
        ));
        let digest = result.finish().unwrap();
        assert_eq!(digest, mallorn_runtime::hash::sha256(&data));
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut written = Vec::new();
        file.read_to_end(&mut written).unwrap();
        assert_eq!(written, data);
    }

    #[test]
    fn a_resumed_result_cuts_what_followed_the_prefix_and_hashes_it() {
        let data: Vec<u8> = (0..(WRITE_BUFFER as u32 + 5000))
            .map(|i| (i % 13) as u8)
            .collect();
        let mut file = tempfile::tempfile().unwrap();
        let split = WRITE_BUFFER as u64 + 100;
        file.write_all(&data[..split as usize]).unwrap();
        file.write_all(b"left by a killed run").unwrap();
        let mut result = FileResult::resume(&mut file, split).unwrap();
        let mut back = [0; 10];
        result.read_result(split - 10, &mut back).unwrap();
        assert_eq!(back, data[split as usize - 10..split as usize]);
        result.write_result(split, &data[split as usize..]).unwrap();
        assert_eq!(
            result.finish().unwrap(),
            mallorn_runtime::hash::sha256(&data)
        );
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut written = Vec::new();
        file.read_to_end(&mut written).unwrap();
        assert_eq!(written, data);
    }
}
