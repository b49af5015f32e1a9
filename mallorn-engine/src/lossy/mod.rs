//! Lossy releases (`[model.lossy]`): each release after the first ships as a *shipped image*
//! whose weights are within the model's bounds of the release file.
//!
//! - [`shipped_lineage`] derives the images along the lineage, each from the previous one
//!   (`derive`), so that every device on a release holds the same bytes whichever bundle or
//!   full image it received; bundles then rebuild the shipped image byte-exactly.
//! - `proof` checks every element of each image against its release file, independently of
//!   the derivation; the build fails on any element over its bound.
//! - [`run_gate`] runs the model's evaluation command on the newest image.
//!
//! Element rules live in `element`, the tensor kinds they apply to in `kinds`.

mod counterparts;
mod derive;
mod element;
mod gate;
mod kinds;
mod proof;

use mallorn_manifest::{LossyPolicy, ModelFormat};
use mallorn_runtime::hash::sha256;

pub use gate::{GateError, run_gate};
pub use proof::{Fidelity, ProofError};

use crate::model::{InputError, parse_declared};

/// One release's shipped image.
#[derive(Debug, Clone)]
pub struct ShippedImage {
    /// The bytes devices get.
    pub bytes: Vec<u8>,
    /// Their SHA-256.
    pub sha256: [u8; 32],
    /// How far they are from the release file, as proved.
    pub fidelity: Fidelity,
}

/// Why a lineage has no shipped images.
#[derive(Debug, thiserror::Error)]
pub enum LossyError {
    /// A release (or a derived image) does not parse as the model's format.
    #[error("release {release} does not parse")]
    Parse {
        /// Index of the release in the lineage.
        release: usize,
        /// Why.
        #[source]
        source: InputError,
    },
    /// A shipped image pinned in Mallorn.toml (`shipped`) breaks its bounds.
    #[error("the pinned shipped image of release {release} is not within its bounds")]
    Pinned {
        /// Index of the release in the lineage.
        release: usize,
        /// Where.
        #[source]
        source: ProofError,
    },
    /// A derived shipped image breaks its bounds (a bug in the derivation: the proof caught
    /// it).
    #[error("the shipped image of release {release} breaks its bounds")]
    Proof {
        /// Index of the release in the lineage.
        release: usize,
        /// Where.
        #[source]
        source: ProofError,
    },
}

/// The shipped images of `releases` (the files of a lineage, oldest first): a release with a
/// `pinned` image (published before) ships that one; otherwise the first ships as it is
/// (devices may already hold it) and each later one is derived from the previous image.
/// Every image is proved against its release file.
pub fn shipped_lineage(
    releases: &[&[u8]],
    pinned: &[Option<&[u8]>],
    format: ModelFormat,
    policy: &LossyPolicy,
) -> Result<Vec<ShippedImage>, LossyError> {
    let mut images: Vec<ShippedImage> = Vec::with_capacity(releases.len());
    for (index, release) in releases.iter().enumerate() {
        let parse = |bytes| {
            parse_declared(bytes, format).map_err(|source| LossyError::Parse {
                release: index,
                source,
            })
        };
        let release_map = parse(release)?;
        let pin = pinned.get(index).copied().flatten();
        let bytes = match (pin, images.last()) {
            (Some(pin), _) => pin.to_vec(),
            (None, None) => release.to_vec(),
            (None, Some(previous)) => {
                let base_map = parse(&previous.bytes)?;
                derive::derive(&previous.bytes, &base_map, release, &release_map, policy)
            }
        };
        let fidelity = proof::prove(&bytes, release, &release_map, policy).map_err(|source| {
            if pin.is_some() {
                LossyError::Pinned {
                    release: index,
                    source,
                }
            } else {
                LossyError::Proof {
                    release: index,
                    source,
                }
            }
        })?;
        images.push(ShippedImage {
            sha256: sha256(&bytes),
            bytes,
            fidelity,
        });
    }
    Ok(images)
}

#[cfg(test)]
mod tests;
