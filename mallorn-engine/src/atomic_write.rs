//! Writing an output file so that it is either complete or absent: the bytes go to a temporary
//! file in the same folder, which is renamed over the destination only once fully written.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (replacing an existing file only on success).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mallorn-tmp-");
    // Temporary files are private (0600); an output model or bundle is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut file = builder.tempfile_in(folder)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
