//! Model versions as carried in the bundle header: three unsigned 32-bit numbers.

use core::fmt;

/// A `major.minor.patch` release version. Pre-release and build metadata are not carried:
/// ordering for anti-rollback is the job of the security counter, not of the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ModelVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

impl ModelVersion {
    /// Encoded size in the header.
    pub const LEN: usize = 12;

    /// Creates a version.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    pub(crate) fn from_le_bytes(bytes: &[u8; Self::LEN]) -> Self {
        let word =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        Self {
            major: word(0),
            minor: word(4),
            patch: word(8),
        }
    }

    /// The 12 bytes of the header field (major, minor, patch; little-endian u32 each).
    pub fn to_le_bytes(self) -> [u8; Self::LEN] {
        let mut out = [0; Self::LEN];
        out[0..4].copy_from_slice(&self.major.to_le_bytes());
        out[4..8].copy_from_slice(&self.minor.to_le_bytes());
        out[8..12].copy_from_slice(&self.patch.to_le_bytes());
        out
    }
}

impl fmt::Display for ModelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}
