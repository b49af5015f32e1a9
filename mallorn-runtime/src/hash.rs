//! SHA-256 whose running state can be saved to flash and restored, so an interrupted update
//! resumes hashing where it stopped instead of re-reading what it already wrote.

use sha2::Digest;
use sha2::digest::common::hazmat::{SerializableState, SerializedState};

/// Serialized length of a running SHA-256: 32 bytes of chaining state, an 8-byte block count
/// and the 64-byte partial block buffer with its fill level.
pub const SHA256_STATE_LEN: usize = 104;

/// A running SHA-256.
#[derive(Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    /// Starts a new hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Finishes the hash.
    pub fn finalize(self) -> [u8; 32] {
        self.0.finalize().into()
    }

    /// Saves the running state.
    pub fn save(&self) -> [u8; SHA256_STATE_LEN] {
        let state = self.0.serialize();
        let mut out = [0; SHA256_STATE_LEN];
        out.copy_from_slice(state.as_slice());
        out
    }

    /// Restores a state saved by [`Sha256::save`]; `None` if the bytes are not a valid state.
    pub fn restore(saved: &[u8; SHA256_STATE_LEN]) -> Option<Self> {
        let state = SerializedState::<sha2::Sha256>::try_from(&saved[..]).ok()?;
        sha2::Sha256::deserialize(&state).ok().map(Self)
    }
}

/// SHA-256 of `data` in one call.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_and_restore_continue_the_same_hash() {
        let data: [u8; 300] = core::array::from_fn(|i| (i * 7) as u8);
        for split in [0, 1, 63, 64, 65, 200, 300] {
            let mut a = Sha256::new();
            a.update(&data[..split]);
            let mut b = Sha256::restore(&a.save()).unwrap();
            b.update(&data[split..]);
            assert_eq!(b.finalize(), sha256(&data));
        }
    }

    #[test]
    fn restore_rejects_garbage_without_panicking() {
        // A partial-block fill level beyond the block size is invalid.
        let mut bad = Sha256::new().save();
        bad[SHA256_STATE_LEN - 1] = 200;
        assert!(Sha256::restore(&bad).is_none());
    }
}
