//! Model slots as files, for Linux devices that want the microcontroller guarantees: two model
//! files and a journal file presented to the runtime's [`Updater`](mallorn_runtime::storage::Updater)
//! as one NOR flash, so the same state machine (admission, segment authentication, resume
//! from the journal, read-back, trial boots, confirm or revert) runs over them. The running
//! model's file is only ever read; which file is live is the journal's record, switched by
//! the updater in one journal write.
//!
//! ```text
//! address 0                slot_len            2 * slot_len         + state_len
//!         | <name>.a        | <name>.b           | <name>.journal     |
//! ```
//!
//! Durability: before any journal write or erase, the model files written since the last
//! journal write are `fsync`ed, and the journal file is `fsync`ed after it, so a journal
//! record never survives a power loss that the bytes it vouches for did not. Erasing a slot
//! block truncates its file there (reads past the end see erased 0xFF), so after an update the
//! new model's file holds exactly the model.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use mallorn_runtime::storage::{FlashLayout, Region, Slot, min_state_len};

/// Erase unit presented to the runtime (journal banks and chunk alignment).
pub const SLOT_ERASE_SIZE: usize = 4096;

/// A flash error with the I/O error behind it (the runtime keeps only the kind).
#[derive(Debug)]
pub struct FileFlashError {
    kind: NorFlashErrorKind,
}

impl NorFlashError for FileFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.kind
    }
}

/// Where an address lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Slot(Slot),
    Journal,
}

/// Two model files and a journal file as one flash (see the module documentation).
#[derive(Debug)]
pub struct FileSlots {
    paths: [PathBuf; 3],
    files: [File; 3],
    slot_len: u32,
    state_len: u32,
    /// Model files written since their last `fsync`.
    dirty: [bool; 2],
    /// The last I/O error, for diagnostics.
    last_io_error: Option<std::io::Error>,
}

impl FileSlots {
    /// Opens (creating what is missing) `<dir>/<name>.a`, `.b` and `.journal`, for models of
    /// up to `max_model_len` bytes (at most about 2 GiB: the runtime's flash addresses are
    /// 32-bit). Keep `max_model_len` the same across runs. A new journal file is blank: call
    /// `Updater::provision` once, with the model the factory put in `<name>.a`. The journal
    /// file stays locked (`flock`, on Unix) while the slots are open: opening them a second
    /// time meanwhile, from this process or another, fails with `ErrorKind::WouldBlock`.
    pub fn open(dir: &Path, name: &str, max_model_len: u64) -> std::io::Result<Self> {
        let unit = SLOT_ERASE_SIZE as u64;
        let state_len = min_state_len(SLOT_ERASE_SIZE, 1).unwrap_or(2 * unit);
        let slot_len = max_model_len.div_ceil(unit).max(1) * unit;
        let too_large = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("models of {max_model_len} bytes do not fit a 32-bit flash address space"),
            )
        };
        let slot_len = u32::try_from(slot_len).map_err(|_| too_large())?;
        let state_len = u32::try_from(state_len).map_err(|_| too_large())?;
        if 2 * u64::from(slot_len) + u64::from(state_len) > u64::from(u32::MAX) {
            return Err(too_large());
        }
        let paths = ["a", "b", "journal"].map(|ext| dir.join(format!("{name}.{ext}")));
        let open = |path: &PathBuf| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
        };
        let files = [open(&paths[0])?, open(&paths[1])?, open(&paths[2])?];
        // The names `open` may just have created must outlive a power loss before any journal
        // record vouches for a file's bytes: `fsync` on a file does not cover its directory
        // entry.
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        // One updater per journal: a second one would write records over the first's.
        if !crate::lock::try_lock(&files[2])? {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                format!("{} is open in another FileSlots", paths[2].display()),
            ));
        }
        Ok(Self {
            paths,
            files,
            slot_len,
            state_len,
            dirty: [false; 2],
            last_io_error: None,
        })
    }

    /// The layout to open the updater with.
    pub fn layout(&self) -> FlashLayout {
        FlashLayout::new(
            Region::new(0, self.slot_len),
            Region::new(self.slot_len, self.slot_len),
            Region::new(2 * self.slot_len, self.state_len),
        )
    }

    /// The file of `slot` (load the model a boot decision names from here).
    pub fn model_path(&self, slot: Slot) -> &Path {
        &self.paths[slot_index(slot)]
    }

    /// The last I/O error behind a flash error the runtime reported.
    pub fn take_io_error(&mut self) -> Option<std::io::Error> {
        self.last_io_error.take()
    }

    /// The part holding `[from, to)` and the offset of `from` in its file.
    fn locate(&self, from: u32, to: u32) -> Result<(Part, u64), FileFlashError> {
        let (slot, state) = (u64::from(self.slot_len), u64::from(self.state_len));
        let (from, to) = (u64::from(from), u64::from(to));
        let (part, start, len) = match from / slot {
            0 => (Part::Slot(Slot::A), 0, slot),
            1 => (Part::Slot(Slot::B), slot, slot),
            _ => (Part::Journal, 2 * slot, state),
        };
        if from > to || to > start + len {
            return Err(FileFlashError {
                kind: NorFlashErrorKind::OutOfBounds,
            });
        }
        Ok((part, from - start))
    }

    fn file(&self, part: Part) -> &File {
        match part {
            Part::Slot(slot) => &self.files[slot_index(slot)],
            Part::Journal => &self.files[2],
        }
    }

    fn io(&mut self, error: std::io::Error) -> FileFlashError {
        self.last_io_error = Some(error);
        FileFlashError {
            kind: NorFlashErrorKind::Other,
        }
    }

    /// Makes the model bytes written so far durable (before a journal write vouches for them).
    fn sync_models(&mut self) -> std::io::Result<()> {
        for i in 0..2 {
            if self.dirty[i] {
                self.files[i].sync_data()?;
                self.dirty[i] = false;
            }
        }
        Ok(())
    }

    fn journal_write(&mut self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.sync_models()?;
        write_at(&self.files[2], data, offset)?;
        self.files[2].sync_data()
    }
}

fn slot_index(slot: Slot) -> usize {
    match slot {
        Slot::A => 0,
        Slot::B => 1,
    }
}

#[cfg(unix)]
fn write_at(file: &File, data: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, offset)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, data: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(data)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
}

/// Reads `buf` at `offset`; bytes past the end of the file read as erased (0xFF).
fn read_erased(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = read_at(file, &mut buf[done..], offset + done as u64)?;
        if n == 0 {
            buf[done..].fill(0xFF);
            break;
        }
        done += n;
    }
    Ok(())
}

impl ErrorType for FileSlots {
    type Error = FileFlashError;
}

impl ReadNorFlash for FileSlots {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let end = offset.saturating_add(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        let (part, at) = self.locate(offset, end)?;
        read_erased(self.file(part), bytes, at).map_err(|e| self.io(e))
    }

    fn capacity(&self) -> usize {
        2 * self.slot_len as usize + self.state_len as usize
    }
}

impl NorFlash for FileSlots {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = SLOT_ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let (part, at) = self.locate(from, to)?;
        let done = match part {
            // Everything after `at` is rewritten before it is read again: cut the file there.
            Part::Slot(slot) => {
                let file = &self.files[slot_index(slot)];
                match file.metadata() {
                    Ok(meta) if meta.len() > at => file.set_len(at),
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Part::Journal => self.journal_write(at, &vec![0xFF; (to - from) as usize]),
        };
        done.map_err(|e| self.io(e))
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let end = offset.saturating_add(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        let (part, at) = self.locate(offset, end)?;
        let done = match part {
            Part::Slot(slot) => {
                self.dirty[slot_index(slot)] = true;
                write_at(&self.files[slot_index(slot)], bytes, at)
            }
            Part::Journal => self.journal_write(at, bytes),
        };
        done.map_err(|e| self.io(e))
    }
}
