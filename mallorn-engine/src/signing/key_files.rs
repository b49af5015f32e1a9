//! Where keys live: the private key in a PEM file created 0600 and never overwritten (or in an
//! environment variable, for CI secrets), the public key next to it in `FILE.pub`.

use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::signing::error::KeyError;
use crate::signing::signing_key::SigningKey;

/// The environment variable `cargo mallorn` reads a signing key's PEM text from when no key
/// file is given.
pub const SIGNING_KEY_ENV: &str = "MALLORN_SIGNING_KEY";

/// Where a signing key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A PKCS#8 PEM file.
    File(PathBuf),
    /// An environment variable holding the PKCS#8 PEM text.
    Env(String),
}

impl KeySource {
    /// The key file if one is given, else [`SIGNING_KEY_ENV`] if it is set, else none.
    pub fn resolve(file: Option<&Path>) -> Option<Self> {
        match file {
            Some(path) => Some(Self::File(path.to_owned())),
            None => std::env::var_os(SIGNING_KEY_ENV).map(|_| Self::Env(SIGNING_KEY_ENV.into())),
        }
    }

    /// Reads and decodes the key.
    pub fn load(&self) -> Result<SigningKey, KeyError> {
        match self {
            Self::File(path) => {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
                    KeyError::Read {
                        path: path.clone(),
                        source,
                    }
                })?);
                SigningKey::from_pkcs8_pem(&text, &path.display().to_string())
            }
            Self::Env(name) => {
                let text = Zeroizing::new(
                    std::env::var(name).map_err(|_| KeyError::EnvMissing { name: name.clone() })?,
                );
                SigningKey::from_pkcs8_pem(&text, &format!("environment variable {name}"))
            }
        }
    }
}

/// An existing public key file beside `path` that is probably the one meant: the same name up
/// to its first dot, ending in `.pub`, `.key.pub` or `.pem.pub` (`keys/release.key.pub` for a
/// missing `keys/release.pub`, as `keygen -o keys/release.key` names it, and the reverse).
pub fn sibling_public_key(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.split('.').next().filter(|stem| !stem.is_empty())?;
    [".key.pub", ".pub", ".pem.pub"]
        .into_iter()
        .map(|suffix| path.with_file_name(format!("{stem}{suffix}")))
        .find(|candidate| candidate != path && candidate.is_file())
}

/// `FILE.pub` for the private key file `FILE`.
pub fn public_key_path(private_key_path: &Path) -> PathBuf {
    let mut name = private_key_path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Writes `key` to `path` (mode 0600) and its public key to `path.pub` (mode 0644). Neither
/// file is ever overwritten, and neither appears half-written: each is written to a temporary
/// file in the same folder and linked into place only if the name is still free. Returns the
/// public key path.
pub fn write_key_pair(path: &Path, key: &SigningKey) -> Result<PathBuf, KeyError> {
    let public_path = public_key_path(path);
    for existing in [path, public_path.as_path()] {
        if existing.exists() {
            return Err(KeyError::AlreadyExists {
                path: existing.to_owned(),
            });
        }
    }
    write_new_file(path, key.to_pkcs8_pem().as_bytes(), 0o600)?;
    if let Err(e) = write_new_file(
        &public_path,
        key.public_key().to_spki_pem().as_bytes(),
        0o644,
    ) {
        // Do not leave a private key without its public half; the file is the one just made.
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(public_path)
}

/// Creates `path` with `contents` and `mode`, failing if it exists.
fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), KeyError> {
    let write_error = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mallorn-key-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = builder
        .tempfile_in(folder)
        .map_err(|e| write_error(crate::atomic_write::without_temp_path(e)))?;
    // Through the std::fs::File: NamedTempFile's own Write adds the temporary path to errors.
    file.as_file_mut()
        .write_all(contents)
        .map_err(write_error)?;
    file.as_file().sync_all().map_err(write_error)?;
    file.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            write_error(e.error)
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pair_that_loads_back_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release.pem");
        let key = SigningKey::from_seed(&[3; 32]).unwrap();
        let public_path = write_key_pair(&path, &key).unwrap();
        assert_eq!(public_path, dir.path().join("release.pem.pub"));

        let loaded = KeySource::File(path.clone()).load().unwrap();
        assert_eq!(loaded.key_id(), key.key_id());
        let public = crate::signing::PublicKey::load(&public_path).unwrap();
        assert_eq!(public, key.public_key());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "private key mode {mode:o}");
        }

        let other = SigningKey::from_seed(&[4; 32]).unwrap();
        assert!(matches!(
            write_key_pair(&path, &other),
            Err(KeyError::AlreadyExists { .. })
        ));
        assert_eq!(
            KeySource::File(path.clone()).load().unwrap().key_id(),
            key.key_id()
        );

        // A stray .pub blocks a new pair without creating the private key.
        let lone = dir.path().join("lone.pem");
        std::fs::write(public_key_path(&lone), "x").unwrap();
        assert!(matches!(
            write_key_pair(&lone, &other),
            Err(KeyError::AlreadyExists { .. })
        ));
        assert!(!lone.exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".mallorn-key-")),
            "temporary files left: {names:?}"
        );
    }
}
