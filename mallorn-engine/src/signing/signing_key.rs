//! A bundle signing key: an Ed25519 private key that knows its key id and keeps its secret to
//! itself (redacted `Debug`, zeroized on drop, PEM only inside `Zeroizing`).

use std::fmt;

use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use zeroize::{Zeroize, Zeroizing};

use crate::signing::error::KeyError;
use crate::signing::hex::hex;
use crate::signing::public_key::PublicKey;

/// An Ed25519 key that signs bundle headers.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
}

impl SigningKey {
    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_seed(&seed)
    }

    /// The key whose 32-byte Ed25519 seed is `seed`. Fails only for the (negligibly rare)
    /// seeds whose public key is not accepted as a trusted key.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = PublicKey::from_bytes(key.verifying_key().to_bytes()).map_err(|e| {
            KeyError::BadPrivateKey {
                source_name: "generated key".into(),
                reason: e.to_string(),
            }
        })?;
        Ok(Self { key, public })
    }

    /// Decodes a PKCS#8 PEM private key; `source_name` (a path or variable name) is used in
    /// errors.
    pub fn from_pkcs8_pem(pem: &str, source_name: &str) -> Result<Self, KeyError> {
        let bad = |reason: String| KeyError::BadPrivateKey {
            source_name: source_name.into(),
            reason,
        };
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|e| bad(e.to_string()))?;
        let public = PublicKey::from_bytes(key.verifying_key().to_bytes())
            .map_err(|e| bad(e.to_string()))?;
        Ok(Self { key, public })
    }

    /// The PKCS#8 v1 PEM text (seed only, the form OpenSSL writes). Handle with care: this is
    /// the secret.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        let mut pair = KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        };
        let pem = pair
            .to_pkcs8_pem(LineEnding::LF)
            .expect("a 32-byte Ed25519 seed always encodes as PKCS#8");
        pair.secret_key.zeroize();
        pem
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The key id written into the headers this key signs.
    pub fn key_id(&self) -> [u8; 8] {
        self.public.key_id()
    }

    /// Signs `message` (a bundle header). Ed25519 is deterministic: same key and message, same
    /// signature.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &hex(&self.key_id()))
            .field("private_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SigningKey::from_seed(&[0xab; 32]).unwrap();
        let shown = format!("{key:?} {key:#?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.to_lowercase().contains("abab"));
        let pem = key.to_pkcs8_pem();
        let body = pem.lines().nth(1).unwrap();
        assert!(!shown.contains(body));
    }

    #[test]
    fn pem_round_trips_in_the_openssl_form() {
        let key = SigningKey::from_seed(&[7; 32]).unwrap();
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // PKCS#8 v1 for Ed25519 is 48 bytes of DER: 64 base64 characters on one line.
        assert_eq!(pem.lines().nth(1).unwrap().len(), 64);
        let back = SigningKey::from_pkcs8_pem(&pem, "test").unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(back.sign(b"m"), key.sign(b"m"));
    }
}
