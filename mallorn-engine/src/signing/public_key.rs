//! A trusted public key on the host: read from and written to SPKI PEM, and handed to the
//! runtime's admission checks as a [`TrustedKey`].

use std::fmt;

use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use mallorn_runtime::verify::TrustedKey;

use crate::signing::error::KeyError;
use crate::signing::hex::hex;

/// An Ed25519 public key that verifies bundles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(TrustedKey);

impl PublicKey {
    /// From the 32 compressed bytes; refuses invalid and weak keys.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, mallorn_runtime::Error> {
        TrustedKey::new(bytes).map(Self)
    }

    /// Decodes SPKI PEM (`-----BEGIN PUBLIC KEY-----`); `source_name` is used in errors.
    pub fn from_spki_pem(pem: &str, source_name: &str) -> Result<Self, KeyError> {
        let bad = |reason: String| KeyError::BadPublicKey {
            source_name: source_name.into(),
            reason,
        };
        let key = VerifyingKey::from_public_key_pem(pem).map_err(|e| bad(e.to_string()))?;
        Self::from_bytes(key.to_bytes()).map_err(|e| bad(e.to_string()))
    }

    /// Reads an SPKI PEM file.
    pub fn load(path: &std::path::Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                KeyError::PublicKeyNotFound {
                    path: path.to_owned(),
                    existing: super::key_files::sibling_public_key(path),
                }
            } else {
                KeyError::Read {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        Self::from_spki_pem(&text, &path.display().to_string())
    }

    /// The SPKI PEM text.
    pub fn to_spki_pem(&self) -> String {
        VerifyingKey::from_bytes(&self.0.public_key)
            .expect("checked when the key was built")
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 public key always encodes as SPKI")
    }

    /// The 32 key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.public_key
    }

    /// The key id: first 8 bytes of SHA-256 of the key bytes.
    pub fn key_id(&self) -> [u8; 8] {
        self.0.id
    }

    /// The key as the runtime's admission checks take it.
    pub fn trusted_key(&self) -> TrustedKey {
        self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_id", &hex(&self.key_id()))
            .field("bytes", &hex(&self.to_bytes()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::SigningKey;

    // RFC 8410, sections 10.1 and 10.3: an Ed25519 key pair in the form OpenSSL writes.
    const RFC8410_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
";
    const RFC8410_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----
";

    #[test]
    fn reads_the_rfc_8410_key_pair() {
        let private = SigningKey::from_pkcs8_pem(RFC8410_PRIVATE, "rfc").unwrap();
        let public = PublicKey::from_spki_pem(RFC8410_PUBLIC, "rfc").unwrap();
        assert_eq!(private.public_key(), public);
        assert_eq!(
            hex(&public.to_bytes()),
            "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
        );
        assert_eq!(public.to_spki_pem(), RFC8410_PUBLIC);
        assert_eq!(private.to_pkcs8_pem().as_str(), RFC8410_PRIVATE);
    }

    #[test]
    fn refuses_private_keys_as_public_keys_and_garbage() {
        assert!(matches!(
            PublicKey::from_spki_pem(RFC8410_PRIVATE, "x.pub"),
            Err(KeyError::BadPublicKey { .. })
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_pem(RFC8410_PUBLIC, "x"),
            Err(KeyError::BadPrivateKey { .. })
        ));
        let err = SigningKey::from_pkcs8_pem("not a key", "KEY_VAR").unwrap_err();
        assert!(err.to_string().contains("KEY_VAR"));
    }
}
