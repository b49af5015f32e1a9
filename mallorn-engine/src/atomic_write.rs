//! Writing an output file so that it is either complete or absent: the bytes go to a temporary
//! file in the same folder, which is renamed over the destination only once fully written.

use std::io::Write;
use std::path::Path;

/// Prefix of the temporary file (an implementation detail: errors never name it).
const TEMP_PREFIX: &str = ".mallorn-tmp-";

/// Writes `bytes` to `path` atomically (replacing an existing file only on success).
///
/// The file gets mode 0644 less the process umask, as a plain `File::create` would (0644
/// under the usual umask 022). Errors carry the OS error alone, never the temporary file's
/// name: callers name `path`, the file the user asked for.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes)).map_err(|error| match error {
        AtomicWriteError::Io(error) | AtomicWriteError::Fill(error) => error,
    })
}

/// Why [`write_atomically_with`] failed.
#[derive(Debug)]
pub enum AtomicWriteError<E> {
    /// Creating, syncing or renaming the file failed.
    Io(std::io::Error),
    /// The caller's `fill` failed.
    Fill(E),
}

/// [`write_atomically`] for content produced by `fill`, which writes it to the (empty,
/// temporary) file it is given. The file replaces `path` only if `fill` succeeds.
pub fn write_atomically_with<E>(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> Result<(), E>,
) -> Result<(), AtomicWriteError<E>> {
    let io = AtomicWriteError::Io;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    // Temporary files are private (0600) by default; an output is an ordinary file. The mode
    // goes to open(2), so the umask applies.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut file = builder
        .tempfile_in(folder)
        .map_err(|e| io(without_temp_path(e)))?;
    // Through the std::fs::File: NamedTempFile's own Write adds the temporary path to errors.
    fill(file.as_file_mut()).map_err(AtomicWriteError::Fill)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// `error` without the " at path \"...\"" that tempfile appends.
pub(crate) fn without_temp_path(error: std::io::Error) -> std::io::Error {
    let text = error.to_string();
    match text.find(" at path ") {
        Some(at) if error.raw_os_error().is_none() => {
            std::io::Error::new(error.kind(), text[..at].to_owned())
        }
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_do_not_name_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder that is a file: creating the temporary file fails (even for root).
        let not_a_folder = dir.path().join("file");
        std::fs::write(&not_a_folder, b"").unwrap();
        let error = write_atomically(&not_a_folder.join("out.bin"), b"x").unwrap_err();
        assert!(!error.to_string().contains(TEMP_PREFIX), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_ordinary_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomically(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // 0644 less the umask: never the temporary file's 0600, unless the umask asks.
        assert_eq!(mode & 0o600, 0o600, "{mode:o}");
        assert_eq!(mode & !0o644, 0, "{mode:o}");
    }
}
