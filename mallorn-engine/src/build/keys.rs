//! The keys of a build: the private signing key (from `[signing] key-file` or `key-env`, never
//! printed) and the trusted public keys the firmware is generated with. The signing key must
//! be one of the trusted keys, or devices would refuse every bundle.

use mallorn_manifest::{KeySource, Manifest};

use crate::build::error::BuildError;
use crate::signing::{self, PublicKey, SigningKey, hex};

/// A trusted public key and where it came from.
#[derive(Debug, Clone)]
pub struct TrustedKeyFile {
    /// The key.
    pub key: PublicKey,
    /// Its file, as written in Mallorn.toml (never an absolute path: it goes into outputs).
    pub written: String,
}

/// Keys for one build.
#[derive(Debug)]
pub struct BuildKeys {
    /// The signing key; `None` for an unsigned (development) build, or for `--check`, which
    /// signs nothing.
    pub signer: Option<SigningKey>,
    /// Trusted public keys, in Mallorn.toml order.
    pub trusted: Vec<TrustedKeyFile>,
    /// True when Mallorn.toml has no `[signing]` and unsigned bundles were allowed.
    pub unsigned: bool,
    /// Id of the key the bundles are signed with: the signer's, or the one a merge adopted
    /// from the bundles it publishes ([`BuildKeys::adopt_signer`]).
    signer_key_id: Option<[u8; 8]>,
}

impl BuildKeys {
    /// Loads the keys. Without `[signing]`, fails unless `allow_unsigned`. The private key is
    /// read only when `need_signer` (a check of generated files needs public keys only).
    pub fn load(
        manifest: &Manifest,
        allow_unsigned: bool,
        need_signer: bool,
    ) -> Result<Self, BuildError> {
        let Some(signing) = &manifest.signing else {
            if !allow_unsigned {
                return Err(BuildError::Unsigned);
            }
            return Ok(Self {
                signer: None,
                trusted: Vec::new(),
                unsigned: true,
                signer_key_id: None,
            });
        };
        let trusted = signing
            .trusted_keys
            .iter()
            .map(|path| {
                PublicKey::load(&path.absolute)
                    .map(|key| TrustedKeyFile {
                        key,
                        written: path.written.clone(),
                    })
                    .map_err(|source| BuildError::TrustedKey {
                        path: path.written.clone(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signer = if need_signer {
            let source = match &signing.key {
                KeySource::File(path) => signing::KeySource::File(path.absolute.clone()),
                KeySource::Env(name) => signing::KeySource::Env(name.clone()),
            };
            let key = source.load().map_err(BuildError::SigningKey)?;
            if !trusted.iter().any(|t| t.key == key.public_key()) {
                return Err(BuildError::KeyNotTrusted {
                    key_id: hex(&key.key_id()),
                    trusted: trusted
                        .iter()
                        .map(|t| hex(&t.key.key_id()))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            Some(key)
        } else {
            None
        };
        Ok(Self {
            signer_key_id: signer.as_ref().map(SigningKey::key_id),
            signer,
            trusted,
            unsigned: false,
        })
    }

    /// Hex id of the key the bundles are signed with, if any.
    pub fn signer_id(&self) -> Option<String> {
        self.signer_key_id.as_ref().map(|id| hex(id))
    }

    /// Takes the signer's id from `key_id`, the id a bundle of this build was signed with,
    /// instead of from the private key: a merge publishes bundles its jobs signed and signs
    /// nothing, so it needs no private key. The id must be one of the trusted keys; an
    /// unsigned build (no `[signing]`) has no signer and ignores it.
    pub fn adopt_signer(&mut self, key_id: [u8; 8]) -> Result<(), BuildError> {
        if self.unsigned {
            return Ok(());
        }
        if !self.trusted.iter().any(|t| t.key.key_id() == key_id) {
            return Err(BuildError::KeyNotTrusted {
                key_id: hex(&key_id),
                trusted: self
                    .trusted
                    .iter()
                    .map(|t| hex(&t.key.key_id()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        self.signer_key_id = Some(key_id);
        Ok(())
    }
}
