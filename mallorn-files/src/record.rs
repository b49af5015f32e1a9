//! The resume record: which bundle an interrupted apply was applying and the last checkpoint
//! whose result bytes are on the storage. It is replaced atomically (written beside, synced,
//! renamed over, directory synced), so a reader finds the previous record or the next one,
//! never a torn one; a record that does not check out is ignored (the apply starts over).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use mallorn_runtime::apply::Checkpoint;
use mallorn_runtime::hash::sha256;

const MAGIC: [u8; 8] = *b"MLRNRES1";
const LEN: usize = MAGIC.len() + 32 + Checkpoint::LEN + 32;

/// An interrupted apply's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResumeRecord {
    /// SHA-256 of the bundle's signed header and signature: the bundle being applied.
    pub bundle: [u8; 32],
    /// The last checkpoint whose result bytes were synced before this record was written.
    pub checkpoint: Checkpoint,
}

impl ResumeRecord {
    fn to_bytes(self) -> [u8; LEN] {
        let mut out = [0; LEN];
        let body = LEN - 32;
        out[..8].copy_from_slice(&MAGIC);
        out[8..40].copy_from_slice(&self.bundle);
        out[40..body].copy_from_slice(&self.checkpoint.to_bytes());
        let digest = sha256(&out[..body]);
        out[body..].copy_from_slice(&digest);
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; LEN] = bytes.try_into().ok()?;
        let (body, digest) = bytes.split_at(LEN - 32);
        if body[..8] != MAGIC || sha256(body) != digest {
            return None;
        }
        Some(Self {
            bundle: body[8..40].try_into().ok()?,
            checkpoint: Checkpoint::from_bytes(body[40..].try_into().ok()?),
        })
    }

    /// The record at `path`, if there is one that checks out.
    pub fn read(path: &Path) -> Option<Self> {
        std::fs::read(path).ok().and_then(|b| Self::from_bytes(&b))
    }

    /// Replaces the record at `path` with this one, durably. `beside` is made anew (never
    /// opened through a link left there, which would write the file it points at).
    pub fn write(self, path: &Path, beside: &Path) -> std::io::Result<()> {
        crate::apply::remove_if_present(beside)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(beside)?;
        file.write_all(&self.to_bytes())?;
        file.sync_all()?;
        std::fs::rename(beside, path)?;
        sync_folder(path)
    }
}

/// Syncs the folder holding `path`, so a rename or removal in it survives a power loss.
pub(crate) fn sync_folder(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(folder)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use mallorn_runtime::apply::Progress;

    use super::*;

    fn record() -> ResumeRecord {
        ResumeRecord {
            bundle: [7; 32],
            checkpoint: Checkpoint {
                progress: Progress {
                    chunks_done: 3,
                    payload_offset: 1000,
                    output_offset: 65536,
                },
                wire_offset: 990,
                segment_sha256: [9; 32],
            },
        }
    }

    #[test]
    fn a_record_reads_back_and_any_damage_makes_it_unreadable() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("out.mallorn-resume");
        record().write(&path, &folder.path().join("tmp")).unwrap();
        assert_eq!(ResumeRecord::read(&path), Some(record()));
        let bytes = std::fs::read(&path).unwrap();
        for i in [0, 9, 50, LEN - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert_eq!(ResumeRecord::from_bytes(&bad), None, "flip at {i}");
        }
        assert_eq!(ResumeRecord::from_bytes(&bytes[..LEN - 1]), None);
        assert_eq!(ResumeRecord::read(&folder.path().join("absent")), None);
    }
}
