//! The admission checks a device runs on a bundle's first 264 bytes, in a fixed order: parse
//! the header, check its signature, then check that the bundle is for this SKU and this model
//! and moves the anti-rollback counter forward. Each failure has its own [`Error`] variant.
//! The base check ([`crate::verify::check_base`]) follows, since it reads the whole slot.

use crate::error::Error;
use crate::format::header::{BundleHeader, Flags, HEADER_LEN, SIGNATURE_LEN};
use crate::verify::device::DeviceContext;
use crate::verify::signature::check_signature;
use crate::verify::trusted_key::TrustedKey;

/// Whether bundles with the `UNSIGNED` flag are admitted. A value passed by the caller, never
/// a build setting: no dependency of a firmware can turn acceptance on behind its back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsignedPolicy {
    /// Refuse them with [`Error::UnsignedRejected`]. What a shipped device does.
    Reject,
    /// Admit them (their signature field must be zero). For a host tool the user explicitly
    /// told to (`--allow-unsigned`); devices use
    /// [`crate::storage::UnsignedDevelopmentAdmit`].
    Accept,
}

/// Parses the header and checks its signature against the trusted key the header's key id
/// names; unsigned bundles are refused. Returns the header, now authentic.
pub fn authenticate(
    header: &[u8; HEADER_LEN],
    signature: &[u8; SIGNATURE_LEN],
    trusted_keys: &[TrustedKey],
) -> Result<BundleHeader, Error> {
    authenticate_with_policy(header, signature, trusted_keys, UnsignedPolicy::Reject)
}

/// [`authenticate`] with an explicit policy for unsigned bundles.
pub fn authenticate_with_policy(
    header: &[u8; HEADER_LEN],
    signature: &[u8; SIGNATURE_LEN],
    trusted_keys: &[TrustedKey],
    unsigned: UnsignedPolicy,
) -> Result<BundleHeader, Error> {
    let parsed = BundleHeader::parse(header)?;
    if parsed.flags.contains(Flags::UNSIGNED) {
        return match unsigned {
            UnsignedPolicy::Reject => Err(Error::UnsignedRejected),
            UnsignedPolicy::Accept if *signature == [0; SIGNATURE_LEN] => Ok(parsed),
            UnsignedPolicy::Accept => Err(Error::BadSignature),
        };
    }
    // Ids are 64-bit prefixes: should two trusted keys share one, either may have signed.
    let mut outcome = Err(Error::UnknownKey {
        key_id: parsed.key_id,
    });
    for key in trusted_keys.iter().filter(|key| key.id == parsed.key_id) {
        outcome = check_signature(header, signature, key);
        if outcome.is_ok() {
            break;
        }
    }
    outcome.map(|()| parsed)
}

/// The bundle must be built for this device's SKU.
pub fn check_sku(header: &BundleHeader, sku_id: [u8; 8]) -> Result<(), Error> {
    if header.sku_id != sku_id {
        return Err(Error::WrongSku {
            bundle: header.sku_id,
            device: sku_id,
        });
    }
    Ok(())
}

/// The bundle must update the model this slot holds.
pub fn check_model(header: &BundleHeader, model_id: [u8; 8]) -> Result<(), Error> {
    if header.model_id != model_id {
        return Err(Error::WrongModel {
            bundle: header.model_id,
            device: model_id,
        });
    }
    Ok(())
}

/// The largest security counter a bundle may carry (and so a device may commit): far beyond
/// any lineage, and far enough below `u64::MAX` that a bundle signed with a mistyped 64-bit
/// counter is refused rather than ending updates. A bundle with this counter itself is the
/// last a device can take (counters must increase): never sign one.
pub const MAX_SECURITY_COUNTER: u64 = u32::MAX as u64;

/// The bundle's security counter must be strictly greater than the committed one (equal is a
/// replay, lower a rollback) and at most [`MAX_SECURITY_COUNTER`].
pub fn check_counter(header: &BundleHeader, committed_counter: u64) -> Result<(), Error> {
    if header.security_counter > MAX_SECURITY_COUNTER {
        return Err(Error::CounterOutOfRange {
            bundle: header.security_counter,
        });
    }
    if header.security_counter <= committed_counter {
        return Err(Error::CounterNotIncreasing {
            bundle: header.security_counter,
            device: committed_counter,
        });
    }
    Ok(())
}

/// Runs every check that needs only the header and signature, in the documented order:
/// structure, signature, SKU, model, counter. Returns the authentic header; the caller then
/// runs [`crate::verify::check_base`] on the active slot before starting the payload decoder.
pub fn admit(
    header: &[u8; HEADER_LEN],
    signature: &[u8; SIGNATURE_LEN],
    device: &DeviceContext<'_>,
) -> Result<BundleHeader, Error> {
    let parsed = authenticate(header, signature, device.trusted_keys)?;
    check_device(
        &parsed,
        device.sku_id,
        device.model_id,
        device.committed_counter,
    )?;
    Ok(parsed)
}

/// The checks after the signature, in the documented order: SKU, model, counter. Shared by
/// [`admit`] and the unsigned development admission, so neither can skip one.
pub fn check_device(
    header: &BundleHeader,
    sku_id: [u8; 8],
    model_id: [u8; 8],
    committed_counter: u64,
) -> Result<(), Error> {
    check_sku(header, sku_id)?;
    check_model(header, model_id)?;
    check_counter(header, committed_counter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::header::tests::sample;
    use crate::format::ids::key_id;
    use ed25519_dalek::{Signer, SigningKey};

    struct Fixture {
        keys: [TrustedKey; 2],
        signers: [SigningKey; 2],
    }

    fn fixture() -> Fixture {
        let signers = [
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
        ];
        let keys = [
            TrustedKey::new(signers[0].verifying_key().to_bytes()).unwrap(),
            TrustedKey::new(signers[1].verifying_key().to_bytes()).unwrap(),
        ];
        Fixture { keys, signers }
    }

    fn signed(header: &BundleHeader, signer: &SigningKey) -> ([u8; HEADER_LEN], [u8; 64]) {
        let header = BundleHeader {
            key_id: key_id(&signer.verifying_key().to_bytes()),
            ..header.clone()
        };
        let bytes = header.to_bytes();
        (bytes, signer.sign(&bytes).to_bytes())
    }

    fn device(keys: &[TrustedKey]) -> DeviceContext<'_> {
        let header = sample();
        DeviceContext {
            sku_id: header.sku_id,
            model_id: header.model_id,
            committed_counter: header.security_counter - 1,
            trusted_keys: keys,
        }
    }

    #[test]
    fn either_rotation_key_is_accepted_and_picked_by_id() {
        let f = fixture();
        for signer in &f.signers {
            let (h, s) = signed(&sample(), signer);
            let header = admit(&h, &s, &device(&f.keys)).unwrap();
            assert_eq!(header.key_id, key_id(&signer.verifying_key().to_bytes()));
        }
        // Only the first key trusted: the second key's bundles name an unknown key.
        let (h, s) = signed(&sample(), &f.signers[1]);
        assert_eq!(
            admit(&h, &s, &device(&f.keys[..1])),
            Err(Error::UnknownKey {
                key_id: f.keys[1].id
            })
        );
    }

    #[test]
    fn signature_by_another_key_under_a_trusted_id_is_bad() {
        let f = fixture();
        let (h, _) = signed(&sample(), &f.signers[0]);
        let forged = f.signers[1].sign(&h).to_bytes();
        assert_eq!(
            admit(&h, &forged, &device(&f.keys)),
            Err(Error::BadSignature)
        );
    }

    #[test]
    fn each_device_check_has_its_own_error_in_order() {
        let f = fixture();
        let good = sample();
        let dev = device(&f.keys);

        let other_sku = BundleHeader {
            sku_id: [9; 8],
            ..good.clone()
        };
        let (h, s) = signed(&other_sku, &f.signers[0]);
        assert_eq!(
            admit(&h, &s, &dev),
            Err(Error::WrongSku {
                bundle: [9; 8],
                device: good.sku_id
            })
        );

        let other_model = BundleHeader {
            model_id: [9; 8],
            ..good.clone()
        };
        let (h, s) = signed(&other_model, &f.signers[0]);
        assert_eq!(
            admit(&h, &s, &dev),
            Err(Error::WrongModel {
                bundle: [9; 8],
                device: good.model_id
            })
        );

        // SKU is checked before model, model before counter.
        let everything_wrong = BundleHeader {
            sku_id: [9; 8],
            model_id: [9; 8],
            security_counter: 0,
            ..good.clone()
        };
        let (h, s) = signed(&everything_wrong, &f.signers[0]);
        assert!(matches!(admit(&h, &s, &dev), Err(Error::WrongSku { .. })));

        for counter in [good.security_counter - 1, good.security_counter - 2] {
            let rollback = BundleHeader {
                security_counter: counter,
                ..good.clone()
            };
            let (h, s) = signed(&rollback, &f.signers[0]);
            assert_eq!(
                admit(&h, &s, &dev),
                Err(Error::CounterNotIncreasing {
                    bundle: counter,
                    device: dev.committed_counter
                })
            );
        }
    }

    #[test]
    fn structure_is_checked_before_the_signature() {
        let f = fixture();
        let (mut h, s) = signed(&sample(), &f.signers[0]);
        h[0] = 0;
        assert_eq!(admit(&h, &s, &device(&f.keys)), Err(Error::BadMagic));
    }

    #[test]
    fn unsigned_bundles_follow_the_policy() {
        let f = fixture();
        let unsigned = BundleHeader {
            flags: crate::format::Flags(Flags::LOSSLESS | Flags::UNSIGNED),
            key_id: [0; 8],
            ..sample()
        };
        let h = unsigned.to_bytes();
        assert_eq!(
            authenticate_with_policy(&h, &[0; 64], &f.keys, UnsignedPolicy::Reject),
            Err(Error::UnsignedRejected)
        );
        assert_eq!(
            authenticate_with_policy(&h, &[0; 64], &f.keys, UnsignedPolicy::Accept),
            Ok(unsigned)
        );
        assert_eq!(
            authenticate_with_policy(&h, &[1; 64], &f.keys, UnsignedPolicy::Accept),
            Err(Error::BadSignature)
        );
        assert_eq!(
            authenticate(&h, &[0; 64], &f.keys),
            Err(Error::UnsignedRejected)
        );
    }
}
