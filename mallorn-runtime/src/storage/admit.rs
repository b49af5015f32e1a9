//! The admission seam: how the updater asks whether a bundle may be applied on this device.
//!
//! Signature, key, SKU, model and anti-rollback checks live in `mallorn_runtime::verify`;
//! [`VerifyingAdmit`] implements [`Admit`] by calling them, and is what a shipped firmware
//! passes to [`crate::storage::Updater::begin`]. The updater itself checks what only the
//! journal knows: that the bundle's base is the confirmed model in the active slot, that the
//! result fits the inactive slot, and that no trial is running.

use crate::error::Error;
use crate::format::{BundleHeader, Flags, HEADER_LEN, SIGNATURE_LEN};
use crate::image::BaseImage;
use crate::verify::{self, DeviceContext, TrustedKey};

/// Decides whether a bundle may be applied. Called by [`crate::storage::Updater::begin`]
/// before anything is written.
pub trait Admit {
    /// Checks the header and its signature for this device and returns the parsed header.
    /// `committed_counter` is the device's committed anti-rollback counter, read from the
    /// journal: an admissible bundle's security counter is greater.
    fn admit(
        &mut self,
        header: &[u8; HEADER_LEN],
        signature: &[u8; SIGNATURE_LEN],
        committed_counter: u64,
    ) -> Result<BundleHeader, Error>;

    /// Checks the base model's bytes in the active slot against the header (length and
    /// SHA-256). Called when an update starts (not when it resumes: the active slot is never
    /// written, so it cannot have changed), and never for full-image bundles.
    fn check_base<B: BaseImage>(
        &mut self,
        header: &BundleHeader,
        base: &mut B,
    ) -> Result<(), Error>;
}

/// A bundle header that passed admission on this device ([`crate::storage::Updater::admit`]),
/// for [`crate::storage::Updater::begin_admitted`]. Only admission makes one. It holds what
/// admission was decided against (where the updater's journal is, the confirmed model and the
/// committed counter), so it starts nothing on another updater or after the device changed.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub(crate) header: BundleHeader,
    /// SHA-256 of the header and signature: the bundle's identity in the journal.
    pub(crate) bundle_hash: [u8; 32],
    /// Where the journal of the updater that admitted it lives: two updaters on one flash
    /// never share it.
    pub(crate) journal_offset: u32,
    /// SHA-256 of the confirmed model when it was admitted.
    pub(crate) active_sha256: [u8; 32],
    /// The committed anti-rollback counter admission saw.
    pub(crate) committed_counter: u64,
}

impl Admitted {
    /// The admitted header.
    pub fn header(&self) -> &BundleHeader {
        &self.header
    }
}

/// The device's admission: [`verify::admit`] (header structure, Ed25519 signature against the
/// trusted keys, SKU, model, anti-rollback counter from the journal), then [`verify::check_base`]
/// (the active slot streamed through SHA-256 in the caller's scratch buffer). Unsigned bundles
/// are refused.
#[derive(Debug)]
pub struct VerifyingAdmit<'k, 's> {
    sku_id: [u8; 8],
    model_id: [u8; 8],
    trusted_keys: &'k [TrustedKey],
    scratch: &'s mut [u8],
}

impl<'k, 's> VerifyingAdmit<'k, 's> {
    /// Admission for a device of SKU `sku_id` whose slots hold model `model_id`, trusting
    /// `trusted_keys`. `scratch` (any non-empty length; a few hundred bytes is plenty, larger
    /// means fewer flash reads) is where the base check reads the active slot.
    pub fn new(
        sku_id: [u8; 8],
        model_id: [u8; 8],
        trusted_keys: &'k [TrustedKey],
        scratch: &'s mut [u8],
    ) -> Self {
        Self {
            sku_id,
            model_id,
            trusted_keys,
            scratch,
        }
    }

    /// Admission from the `DeviceContext` a generated include provides (its committed counter
    /// is ignored: the journal's is used on each check).
    pub fn from_context(context: DeviceContext<'k>, scratch: &'s mut [u8]) -> Self {
        Self::new(
            context.sku_id,
            context.model_id,
            context.trusted_keys,
            scratch,
        )
    }
}

impl Admit for VerifyingAdmit<'_, '_> {
    // Not inlined: the Ed25519 check needs several KiB of stack, which must be released
    // when admission ends instead of staying in the caller's frame for the whole update.
    #[inline(never)]
    fn admit(
        &mut self,
        header: &[u8; HEADER_LEN],
        signature: &[u8; SIGNATURE_LEN],
        committed_counter: u64,
    ) -> Result<BundleHeader, Error> {
        let device = DeviceContext {
            sku_id: self.sku_id,
            model_id: self.model_id,
            committed_counter,
            trusted_keys: self.trusted_keys,
        };
        verify::admit(header, signature, &device)
    }

    fn check_base<B: BaseImage>(
        &mut self,
        header: &BundleHeader,
        base: &mut B,
    ) -> Result<(), Error> {
        verify::check_base(header, base, self.scratch)
    }
}

/// Admission of **unsigned development bundles** for boards that must not carry Ed25519 code or
/// keys yet: every check of [`VerifyingAdmit`] but the signature. Signed bundles are refused
/// (their signature cannot be checked here, and it is never skipped). A firmware opts in by
/// naming this type in its own code (no Cargo feature can switch it on), and must never ship
/// with it: anyone on the link could install any model.
#[derive(Debug)]
pub struct UnsignedDevelopmentAdmit<'s> {
    sku_id: [u8; 8],
    model_id: [u8; 8],
    scratch: &'s mut [u8],
}

impl<'s> UnsignedDevelopmentAdmit<'s> {
    /// Development admission for a device of SKU `sku_id` whose slots hold model `model_id`;
    /// `scratch` as in [`VerifyingAdmit::new`].
    pub fn new(sku_id: [u8; 8], model_id: [u8; 8], scratch: &'s mut [u8]) -> Self {
        Self {
            sku_id,
            model_id,
            scratch,
        }
    }
}

impl Admit for UnsignedDevelopmentAdmit<'_> {
    fn admit(
        &mut self,
        header: &[u8; HEADER_LEN],
        signature: &[u8; SIGNATURE_LEN],
        committed_counter: u64,
    ) -> Result<BundleHeader, Error> {
        let parsed = BundleHeader::parse(header)?;
        if !parsed.flags.contains(Flags::UNSIGNED) || *signature != [0; SIGNATURE_LEN] {
            return Err(Error::BadSignature);
        }
        verify::check_device(&parsed, self.sku_id, self.model_id, committed_counter)?;
        Ok(parsed)
    }

    fn check_base<B: BaseImage>(
        &mut self,
        header: &BundleHeader,
        base: &mut B,
    ) -> Result<(), Error> {
        verify::check_base(header, base, self.scratch)
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;
    use crate::format::header::tests::sample;
    use crate::format::key_id;
    use crate::storage::testing::{
        COMMITTED, Flash, WORK, admission, bundle, device, new_model, provisioned, split, trusted,
    };
    use crate::storage::{Phase, Slot, Updater};

    /// Runs begin/feed/finish with the verifying admission of a device that trusts `keys`.
    fn apply(
        updater: &mut Updater<Flash>,
        keys: &[TrustedKey],
        bundle: &[u8],
    ) -> Result<(), Error> {
        let mut scratch = [0u8; 100];
        let mut admission = admission(keys, &mut scratch);
        let (header, signature, payload) = split(bundle);
        let mut work = [0u8; WORK];
        let mut session = updater.begin(&mut admission, header, signature, &mut work)?;
        session.feed(payload)?;
        session.finish().map(|_| ())
    }

    #[test]
    fn a_signed_bundle_for_this_device_is_applied() {
        let signer = SigningKey::from_bytes(&[5; 32]);
        let mut updater = provisioned(device());
        apply(
            &mut updater,
            &[trusted(&signer)],
            &bundle(sample(), &signer),
        )
        .unwrap();
        assert!(matches!(updater.state().phase, Phase::Pending(_)));
        let mut written = vec![0; 6000];
        updater.read_slot(Slot::B, 0, &mut written).unwrap();
        assert_eq!(written, new_model());
    }

    #[test]
    fn every_refusal_writes_nothing() {
        let signer = SigningKey::from_bytes(&[5; 32]);
        let stranger = SigningKey::from_bytes(&[6; 32]);
        let keys = [trusted(&signer)];
        let good = bundle(sample(), &signer);
        let mut forged = good.clone();
        forged[HEADER_LEN + 3] ^= 1;
        let cases: [(Vec<u8>, Error); 5] = [
            (
                bundle(sample(), &stranger),
                Error::UnknownKey {
                    key_id: key_id(&stranger.verifying_key().to_bytes()),
                },
            ),
            (forged, Error::BadSignature),
            (
                bundle(
                    BundleHeader {
                        sku_id: [9; 8],
                        ..sample()
                    },
                    &signer,
                ),
                Error::WrongSku {
                    bundle: [9; 8],
                    device: sample().sku_id,
                },
            ),
            (
                bundle(
                    BundleHeader {
                        model_id: [9; 8],
                        ..sample()
                    },
                    &signer,
                ),
                Error::WrongModel {
                    bundle: [9; 8],
                    device: sample().model_id,
                },
            ),
            (
                // The committed counter comes from the journal: a replay of it is refused.
                {
                    let mut replay = bundle(sample(), &signer);
                    let mut header =
                        BundleHeader::parse(replay[..HEADER_LEN].try_into().unwrap()).unwrap();
                    header.security_counter = COMMITTED;
                    let bytes = header.to_bytes();
                    replay[..HEADER_LEN].copy_from_slice(&bytes);
                    replay[HEADER_LEN..HEADER_LEN + SIGNATURE_LEN]
                        .copy_from_slice(&signer.sign(&bytes).to_bytes());
                    replay
                },
                Error::CounterNotIncreasing {
                    bundle: COMMITTED,
                    device: COMMITTED,
                },
            ),
        ];
        for (bundle, expected) in cases {
            let mut updater = provisioned(device());
            let seq = updater.journal_sequence();
            let before = updater.flash().counts().mutations();
            assert_eq!(apply(&mut updater, &keys, &bundle), Err(expected));
            assert_eq!(updater.flash().counts().mutations(), before, "{expected:?}");
            assert_eq!(updater.journal_sequence(), seq);
            assert_eq!(updater.state().phase, Phase::Idle);
        }
    }

    #[test]
    fn a_slot_that_no_longer_holds_the_base_is_refused() {
        let signer = SigningKey::from_bytes(&[5; 32]);
        let mut flash = device();
        // The journal says slot A holds OLD, but a byte of it has rotted since.
        let mut updater = provisioned({
            flash.program_at(4999, &[6]);
            flash
        });
        let before = updater.flash().counts().mutations();
        assert_eq!(
            apply(
                &mut updater,
                &[trusted(&signer)],
                &bundle(sample(), &signer)
            ),
            Err(Error::WrongBase)
        );
        assert_eq!(updater.flash().counts().mutations(), before);
        assert_eq!(updater.state().phase, Phase::Idle);
    }

    fn unsigned_sample() -> BundleHeader {
        let header = sample();
        BundleHeader {
            flags: Flags(header.flags.0 | Flags::UNSIGNED),
            key_id: [0; 8],
            ..header
        }
    }

    #[test]
    fn development_admission_takes_unsigned_bundles_for_this_device_only() {
        let header = unsigned_sample();
        let mut scratch = [0; 64];
        let mut admit = UnsignedDevelopmentAdmit::new(header.sku_id, header.model_id, &mut scratch);
        let counter = header.security_counter - 1;
        let bytes = header.to_bytes();
        assert_eq!(
            admit.admit(&bytes, &[0; SIGNATURE_LEN], counter),
            Ok(header.clone())
        );
        // A non-zero signature field on an unsigned bundle, or a signed bundle: refused, since
        // no signature is checked here.
        assert_eq!(
            admit.admit(&bytes, &[1; SIGNATURE_LEN], counter),
            Err(Error::BadSignature)
        );
        let signed = sample().to_bytes();
        assert_eq!(
            admit.admit(&signed, &[0; SIGNATURE_LEN], counter),
            Err(Error::BadSignature)
        );
        // The other checks still run.
        assert!(matches!(
            admit.admit(&bytes, &[0; SIGNATURE_LEN], header.security_counter),
            Err(Error::CounterNotIncreasing { .. })
        ));
        let mut scratch = [0; 64];
        let mut other_sku = UnsignedDevelopmentAdmit::new([9; 8], header.model_id, &mut scratch);
        assert!(matches!(
            other_sku.admit(&bytes, &[0; SIGNATURE_LEN], counter),
            Err(Error::WrongSku { .. })
        ));
        let mut scratch = [0; 64];
        let mut other_model = UnsignedDevelopmentAdmit::new(header.sku_id, [9; 8], &mut scratch);
        assert!(matches!(
            other_model.admit(&bytes, &[0; SIGNATURE_LEN], counter),
            Err(Error::WrongModel { .. })
        ));
    }
}
