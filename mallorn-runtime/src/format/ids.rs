//! The 8-byte identifiers in the bundle header: which model, which device SKU and which signing
//! key. Each is the first 8 bytes of a SHA-256, so host and device derive the same id from the
//! same name (or key) without a registry. Domain prefixes keep a model and a SKU with the same
//! name apart.

use sha2::{Digest, Sha256};

/// Length of every id in the header.
pub const ID_LEN: usize = 8;

/// Domain prefix hashed before a model name.
pub const MODEL_ID_DOMAIN: &str = "mallorn-model:";
/// Domain prefix hashed before a SKU name.
pub const SKU_ID_DOMAIN: &str = "mallorn-sku:";

/// The id of the model called `name` (as named in Mallorn.toml): the first 8 bytes of
/// SHA-256(`"mallorn-model:"` + `name`).
pub fn model_id(name: &str) -> [u8; ID_LEN] {
    prefixed_id(MODEL_ID_DOMAIN, name.as_bytes())
}

/// The id of the device SKU called `name`: the first 8 bytes of SHA-256(`"mallorn-sku:"` + `name`).
pub fn sku_id(name: &str) -> [u8; ID_LEN] {
    prefixed_id(SKU_ID_DOMAIN, name.as_bytes())
}

/// The id of an Ed25519 public key: the first 8 bytes of SHA-256 of its 32 bytes.
pub fn key_id(public_key: &[u8; 32]) -> [u8; ID_LEN] {
    prefixed_id("", public_key)
}

fn prefixed_id(domain: &str, data: &[u8]) -> [u8; ID_LEN] {
    let mut hash = Sha256::new();
    hash.update(domain.as_bytes());
    hash.update(data);
    let digest: [u8; 32] = hash.finalize().into();
    let mut id = [0; ID_LEN];
    id.copy_from_slice(&digest[..ID_LEN]);
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256;

    #[test]
    fn ids_are_prefixes_of_the_documented_hashes() {
        assert_eq!(model_id("kws")[..], sha256(b"mallorn-model:kws")[..ID_LEN]);
        assert_eq!(
            sku_id("board-a")[..],
            sha256(b"mallorn-sku:board-a")[..ID_LEN]
        );
        assert_eq!(key_id(&[7; 32])[..], sha256(&[7; 32])[..ID_LEN]);
    }

    #[test]
    fn domains_separate_models_from_skus() {
        assert_ne!(model_id("x"), sku_id("x"));
        assert_ne!(model_id("a"), model_id("b"));
    }

    #[test]
    fn known_values() {
        // Computed independently (Python hashlib) to pin the derivation across releases.
        assert_eq!(
            model_id("kws"),
            [0x1f, 0x07, 0x29, 0x15, 0xa8, 0x75, 0x06, 0x1f]
        );
        assert_eq!(
            sku_id("board-a"),
            [0x2b, 0xdc, 0x3b, 0x25, 0x42, 0x04, 0x75, 0xb4]
        );
    }
}
