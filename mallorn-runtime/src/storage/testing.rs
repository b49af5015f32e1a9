//! Test support for the storage layer: a small simulated device with the old model in slot A
//! (and a staging region), and signed bundles of one stored chunk that update it.

use ed25519_dalek::{Signer, SigningKey};

use crate::format::chunk::{ChunkHeader, MAX_CHUNK_HEADER_LEN};
use crate::format::header::tests::sample;
use crate::format::segments::chain;
use crate::format::{BundleHeader, Decoders, Flags, HEADER_LEN, SIGNATURE_LEN, key_id};
use crate::hash::sha256;
use crate::sim::SimFlash;
use crate::storage::{
    FlashLayout, Region, Slot, SlotImage, UpdateSession, Updater, VerifyingAdmit,
};
use crate::verify::TrustedKey;

pub(crate) type Flash = SimFlash<4, 4096>;
/// Work buffer of the test sessions, and the RAM their bundles state.
pub(crate) const WORK: usize = 2048;
pub(crate) const K4: u32 = 4096;
/// The model in slot A.
pub(crate) const OLD: [u8; 5000] = [7; 5000];
/// The device's committed counter; the test bundles carry one more.
pub(crate) const COMMITTED: u64 = 3;

/// Slots of 8 KiB, an 8 KiB state region, and an 8 KiB staging region.
pub(crate) fn layout() -> FlashLayout {
    FlashLayout::new(
        Region::new(0, 2 * K4),
        Region::new(2 * K4, 2 * K4),
        Region::new(4 * K4, 2 * K4),
    )
    .with_staging(Region::new(6 * K4, 2 * K4))
}

/// The model the test bundles write.
pub(crate) fn new_model() -> Vec<u8> {
    (0..6000u32).map(|i| (i * 13 % 251) as u8).collect()
}

/// The key the test bundles are signed with.
pub(crate) fn signer() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

/// `signer` as a device trusts it.
pub(crate) fn trusted(signer: &SigningKey) -> TrustedKey {
    TrustedKey::new(signer.verifying_key().to_bytes()).unwrap()
}

/// The verifying admission of a device of [`sample`]'s SKU and model that trusts `keys`.
pub(crate) fn admission<'k, 's>(
    keys: &'k [TrustedKey],
    scratch: &'s mut [u8],
) -> VerifyingAdmit<'k, 's> {
    let device = sample();
    VerifyingAdmit::new(device.sku_id, device.model_id, keys, scratch)
}

/// A bundle storing `new` in one chunk, signed by `signer` and otherwise like `header`.
pub(crate) fn bundle(header: BundleHeader, signer: &SigningKey) -> Vec<u8> {
    bundle_with_trailer(header, signer, &[])
}

/// [`bundle`] with `trailer` after its chunk, inside the signed payload (authenticated bytes
/// the decoder must refuse when `trailer` is not empty).
pub(crate) fn bundle_with_trailer(
    header: BundleHeader,
    signer: &SigningKey,
    trailer: &[u8],
) -> Vec<u8> {
    let new = new_model();
    let chunk = ChunkHeader {
        output_len: new.len() as u64,
        coded_len: new.len() as u64,
        codec: 0,
    };
    let mut framing = [0; MAX_CHUNK_HEADER_LEN];
    let n = chunk.encode(&mut framing);
    let mut plain = framing[..n].to_vec();
    plain.extend_from_slice(&new);
    plain.extend_from_slice(trailer);
    let (payload, head) = chain(&plain, header.segment_log2).unwrap();
    let header = BundleHeader {
        flags: Flags(Flags::LOSSLESS),
        decoders: Decoders(Decoders::STORED),
        key_id: key_id(&signer.verifying_key().to_bytes()),
        security_counter: COMMITTED + 1,
        base_len: OLD.len() as u64,
        base_sha256: sha256(&OLD),
        result_len: new.len() as u64,
        result_sha256: sha256(&new),
        payload_len: payload.len() as u64,
        payload_sha256: head,
        ram_required: WORK as u32,
        ..header
    };
    let header = header.to_bytes();
    let mut bytes = header.to_vec();
    bytes.extend_from_slice(&signer.sign(&header).to_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// The genuine test bundle: [`sample`]'s identity, signed by [`signer`].
pub(crate) fn genuine() -> Vec<u8> {
    bundle(sample(), &signer())
}

/// Header, signature and payload of a bundle.
pub(crate) fn split(bundle: &[u8]) -> (&[u8; HEADER_LEN], &[u8; SIGNATURE_LEN], &[u8]) {
    let (header, rest) = bundle.split_first_chunk::<HEADER_LEN>().unwrap();
    let (signature, payload) = rest.split_first_chunk::<SIGNATURE_LEN>().unwrap();
    (header, signature, payload)
}

/// A blank device with [`OLD`] programmed in slot A.
pub(crate) fn device() -> Flash {
    let mut flash = Flash::new(8 * K4 as usize);
    flash.program_at(0, &OLD);
    flash
}

/// `flash` provisioned with [`OLD`] confirmed in slot A and counter [`COMMITTED`].
pub(crate) fn provisioned(flash: Flash) -> Updater<Flash> {
    provisioned_with(flash, layout())
}

/// [`provisioned`] with another layout.
pub(crate) fn provisioned_with(flash: Flash, layout: FlashLayout) -> Updater<Flash> {
    let image = SlotImage {
        len: OLD.len() as u64,
        sha256: sha256(&OLD),
    };
    Updater::provision(flash, layout, Slot::A, image, COMMITTED).unwrap()
}

/// What a session test starts from: the genuine bundle, a provisioned device that trusts its
/// signer, the admission's scratch buffer and a work buffer.
pub(crate) struct Rig {
    bundle: Vec<u8>,
    keys: [TrustedKey; 1],
    scratch: [u8; 64],
    work: [u8; WORK],
    /// The device.
    pub(crate) updater: Updater<Flash>,
}

impl Rig {
    pub(crate) fn new() -> Self {
        Self::with_bundle(genuine())
    }

    /// A rig whose bundle is `bundle` (signed by [`signer`]).
    pub(crate) fn with_bundle(bundle: Vec<u8>) -> Self {
        Self {
            bundle,
            keys: [trusted(&signer())],
            scratch: [0; 64],
            work: [0; WORK],
            updater: provisioned(device()),
        }
    }

    /// Admits the bundle and begins it (it must be accepted); returns the session and the
    /// bundle's payload.
    pub(crate) fn begin(&mut self) -> (UpdateSession<'_, '_, Flash>, &[u8]) {
        let (header, signature, payload) = split(&self.bundle);
        let mut admit = admission(&self.keys, &mut self.scratch);
        let session = self
            .updater
            .begin(&mut admit, header, signature, &mut self.work)
            .expect("the genuine bundle begins");
        (session, payload)
    }
}
