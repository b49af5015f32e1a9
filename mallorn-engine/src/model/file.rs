//! Opening a model file for zero-copy parsing: memory-mapped when possible, read otherwise.

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::Path;

/// The bytes of a model file, memory-mapped read-only (or read into memory for empty files and
/// file systems that cannot map).
pub struct ModelFile {
    bytes: Bytes,
}

enum Bytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl ModelFile {
    /// Opens `path`.
    pub fn open(path: &Path) -> io::Result<ModelFile> {
        let file = File::open(path)?;
        if file.metadata()?.len() > 0 {
            if let Ok(map) = map_read_only(&file) {
                return Ok(ModelFile {
                    bytes: Bytes::Mapped(map),
                });
            }
        }
        Ok(ModelFile {
            bytes: Bytes::Read(std::fs::read(path)?),
        })
    }
}

#[allow(unsafe_code)]
fn map_read_only(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: the map is read-only and private to this process. memmap2 cannot stop another
    // process from truncating or rewriting the file while it is mapped; like every mmap-based
    // model loader, Mallorn accepts that risk for input files (a truncation would fault, not
    // corrupt memory that Rust relies on, and outputs are always written to new files).
    unsafe { memmap2::Mmap::map(file) }
}

impl Deref for ModelFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(map) => map,
            Bytes::Read(bytes) => bytes,
        }
    }
}
