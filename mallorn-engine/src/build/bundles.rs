//! Building one bundle with a target's coding: through the delta encoder
//! ([`crate::bundle::build_bundle`]), or, for stored coding, as erase-block chunks of the
//! image verbatim. Either way the bundle is applied with the runtime's decoder and compared
//! with the model before it is signed.

use mallorn_runtime::format::{BundleHeader, HEADER_LEN, ModelVersion};
use serde::{Deserialize, Serialize};

use crate::build::coding::Coding;
use crate::bundle::{self, BundleIdentity, BundleRequest, PayloadBuilder, build_bundle};
use crate::delta::{EncodeOptions, ModelFormat, PlanKind};
use crate::signing::SigningKey;

/// How a bundle's payload was planned (recorded in `index.json` and the build cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitPlan {
    /// Tensors matched and coded in their own domain.
    Structured,
    /// The whole file coded as opaque bytes.
    Opaque,
    /// Erase-block chunks of the image verbatim (stored coding).
    Stored,
}

impl UnitPlan {
    /// Its name in `index.json` and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Structured => "structured",
            Self::Opaque => "opaque",
            Self::Stored => "stored",
        }
    }
}

impl std::fmt::Display for UnitPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<PlanKind> for UnitPlan {
    fn from(kind: PlanKind) -> Self {
        match kind {
            PlanKind::Structured => Self::Structured,
            PlanKind::Opaque => Self::Opaque,
        }
    }
}

/// A finished, self-checked (and, with a key, signed) bundle.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The bundle bytes.
    pub bytes: Vec<u8>,
    /// Its header.
    pub header: BundleHeader,
    /// How its payload was planned.
    pub plan: UnitPlan,
}

impl Unit {
    /// Parses a bundle read back from a previous build's output.
    pub fn from_bytes(bytes: Vec<u8>, plan: UnitPlan) -> Option<Self> {
        let header = BundleHeader::parse(bytes.get(..HEADER_LEN)?.try_into().ok()?).ok()?;
        Some(Self {
            bytes,
            header,
            plan,
        })
    }

    /// The same full image for devices on `from_version`: the payload unchanged under a
    /// header naming that release as its origin, signed again with `key`. A full image
    /// published in place of a delta says which update it stands for.
    pub fn full_image_from(
        &self,
        from_version: ModelVersion,
        key: Option<&SigningKey>,
    ) -> Result<Unit, bundle::BuildError> {
        let (bytes, header) = bundle::build::with_from_version(&self.bytes, from_version, key)?;
        Ok(Unit {
            bytes,
            header,
            plan: self.plan,
        })
    }
}

/// Builds the bundle turning `base` (or nothing, for a full image) into `result`, both read
/// as `format` (the model's `format` in Mallorn.toml).
pub fn build_unit(
    coding: &Coding,
    format: ModelFormat,
    base: Option<&[u8]>,
    result: &[u8],
    identity: BundleIdentity,
    key: Option<&SigningKey>,
) -> Result<Unit, bundle::BuildError> {
    match coding {
        Coding::Coder { options, .. } => {
            let built = build_bundle(&BundleRequest {
                base,
                result,
                identity,
                options: EncodeOptions { format, ..*options },
                key,
            })?;
            Ok(Unit {
                bytes: built.bytes,
                header: built.header,
                plan: built.plan.into(),
            })
        }
        Coding::Stored {
            chunk_align_log2,
            segment_log2,
        } => stored_full_image(*chunk_align_log2, *segment_log2, result, &identity, key),
    }
}

/// A full-image bundle of stored chunks, one erase block each.
fn stored_full_image(
    chunk_align_log2: u8,
    segment_log2: u8,
    result: &[u8],
    identity: &BundleIdentity,
    key: Option<&SigningKey>,
) -> Result<Unit, bundle::BuildError> {
    let mut payload = PayloadBuilder::new(chunk_align_log2).with_segment_log2(segment_log2);
    payload.push_stored(result);
    let (bytes, header) = bundle::build::finish(&payload, None, result, identity, key)?;
    Ok(Unit {
        bytes,
        header,
        plan: UnitPlan::Stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::apply_bundle;
    use mallorn_runtime::format::Flags;

    #[test]
    fn stored_full_images_apply_and_are_signed() {
        let result: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let key = SigningKey::from_seed(&[5; 32]).unwrap();
        let coding = Coding::Stored {
            chunk_align_log2: 12,
            segment_log2: 9,
        };
        let unit = build_unit(
            &coding,
            ModelFormat::Raw,
            None,
            &result,
            BundleIdentity::default(),
            Some(&key),
        )
        .unwrap();
        assert_eq!(unit.plan, UnitPlan::Stored);
        assert!(unit.header.flags.contains(Flags::FULL_IMAGE));
        assert!(!unit.header.flags.contains(Flags::UNSIGNED));
        assert_eq!(unit.header.key_id, key.key_id());
        assert_eq!(apply_bundle(&unit.bytes, &[]).unwrap(), result);
        assert_eq!(
            Unit::from_bytes(unit.bytes.clone(), UnitPlan::Stored)
                .unwrap()
                .header,
            unit.header
        );
        assert!(Unit::from_bytes(unit.bytes[..10].to_vec(), UnitPlan::Stored).is_none());
    }
}
