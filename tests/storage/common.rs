//! What the storage tests share: the bundle builder, a test admission, model pairs (real ones
//! from the shared corpus, synthetic ones that are always there), a provisioned simulated
//! device, and a firmware-like driver that boots, applies, confirms and checks what it loads.

use std::io::Write;

use embedded_storage::nor_flash::NorFlash;

use mallorn_engine::bundle::{BundleIdentity, BundleRequest, build_bundle as build_signed_or_not};
use mallorn_engine::delta::{DeltaCodec, EncodeOptions, ModelFormat};
use mallorn_runtime::Error;
use mallorn_runtime::apply::required_work_len;
use mallorn_runtime::apply::workspace::MIN_OUTPUT_LEN;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::Decoders;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNATURE_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_runtime::hash::{Sha256, sha256};
use mallorn_runtime::image::BaseImage;
use mallorn_runtime::sim::SimFlash;
use mallorn_runtime::storage::{
    Admit, BootDecision, BootKind, BootPolicy, FlashLayout, Phase, Region, Slot, SlotImage, Updater,
};
pub use mallorn_tests::synthetic_model;

/// The codec profile the tests' bundles use.
pub const PROFILE: Profile = Profile::Compact;
/// Work buffer of the tests: what the profile needs, with a 4 KiB output buffer, so each
/// flash write is one 4 KiB block (a realistic device buffer).
pub const WORK_LEN: usize =
    required_work_len(Decoders(Decoders::ALL), PROFILE as u8, SEGMENT_LOG2) - MIN_OUTPUT_LEN + 4096;

/// Payload segments of the tests' bundles: 1 KiB, so payloads span many segments.
pub const SEGMENT_LOG2: u8 = 10;

/// The boot policy of the tests: one trial boot (a reset before `confirm` reverts), so the
/// sweeps see every revert; trial retries have their own tests.
pub const POLICY: BootPolicy = BootPolicy {
    trial_boots: 1,
    verify_trial_boot: false,
};

/// Security counter the device is provisioned with; bundles to the next release carry one more.
pub const PROVISIONED_COUNTER: u64 = 1;

/// Builds the delta bundle that turns `old` into `new` with `coder`, with chunks aligned to
/// `1 << chunk_align_log2` (the device's erase size). The one place the tests make bundles.
pub fn build_bundle_with(
    old: &[u8],
    new: &[u8],
    chunk_align_log2: u8,
    security_counter: u64,
    coder: DeltaCodec,
) -> Vec<u8> {
    let identity = BundleIdentity {
        security_counter,
        ..BundleIdentity::default()
    };
    // One erase block per chunk, so power cuts land in many chunks.
    let options = EncodeOptions {
        chunk_align_log2,
        chunk_len: 1 << chunk_align_log2,
        profile: PROFILE,
        coder,
        segment_log2: SEGMENT_LOG2,
        // Synthetic images are no model: code them as opaque bytes, as `format = "raw"` does.
        format: if [old, new]
            .iter()
            .any(|f| mallorn_engine::model::detect(f) == mallorn_engine::model::Format::Unknown)
        {
            ModelFormat::Raw
        } else {
            ModelFormat::Auto
        },
        ..EncodeOptions::default()
    };
    let request = BundleRequest {
        base: Some(old),
        result: new,
        identity,
        options,
        key: None,
    };
    build_signed_or_not(&request)
        .expect("the corpus pair encodes")
        .bytes
}

/// A bundle coded by the smallest codec (see [`build_bundle_with`]).
pub fn build_bundle(
    old: &[u8],
    new: &[u8],
    chunk_align_log2: u8,
    security_counter: u64,
) -> Vec<u8> {
    build_bundle_with(
        old,
        new,
        chunk_align_log2,
        security_counter,
        DeltaCodec::Smallest,
    )
}

/// Header, signature and payload of a bundle.
pub fn split(bundle: &[u8]) -> (&[u8; HEADER_LEN], &[u8; SIGNATURE_LEN], &[u8]) {
    let (header, rest) = bundle.split_first_chunk::<HEADER_LEN>().unwrap();
    let (signature, payload) = rest.split_first_chunk::<SIGNATURE_LEN>().unwrap();
    (header, signature, payload)
}

/// Admission for these tests: the header's structure only. Signature, SKU and anti-rollback
/// checks belong to `mallorn_runtime::verify` and are tested there; this records what the
/// updater hands over so the tests can check it, and checks the base bytes for real.
#[derive(Debug, Default)]
pub struct ParseOnlyAdmission {
    /// The committed counter passed to each `admit` call.
    pub committed_seen: Vec<u64>,
    /// How many times the base was checked.
    pub base_checks: usize,
}

impl Admit for ParseOnlyAdmission {
    fn admit(
        &mut self,
        header: &[u8; HEADER_LEN],
        _signature: &[u8; SIGNATURE_LEN],
        committed_counter: u64,
    ) -> Result<BundleHeader, Error> {
        self.committed_seen.push(committed_counter);
        BundleHeader::parse(header)
    }

    fn check_base<B: BaseImage>(
        &mut self,
        header: &BundleHeader,
        base: &mut B,
    ) -> Result<(), Error> {
        self.base_checks += 1;
        let mut hash = Sha256::new();
        let mut buf = [0u8; 4096];
        let mut at = 0;
        while at < header.base_len {
            let n = (header.base_len - at).min(buf.len() as u64) as usize;
            base.read_base(at, &mut buf[..n])?;
            hash.update(&buf[..n]);
            at += n as u64;
        }
        assert_eq!(
            hash.finalize(),
            header.base_sha256,
            "the active slot does not hold the base"
        );
        Ok(())
    }
}

/// Writes a line to stderr past the test harness's capture, so figures show in CI logs.
pub fn report(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Reads `lineage/old` and `lineage/new` from the shared corpus; `None` with a notice when
/// the corpus is absent, or a panic if `MALLORN_REQUIRE_CORPUS=1` (`mallorn_tests::corpus_dir`).
pub fn corpus_pair(lineage: &str, old: &str, new: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    Some((
        mallorn_tests::corpus_file(lineage, old)?,
        mallorn_tests::corpus_file(lineage, new)?,
    ))
}

/// A next release of `model`: some bytes changed, a tail added, as a retrain might do.
pub fn next_release(model: &[u8], seed: u64) -> Vec<u8> {
    let mut out = model.to_vec();
    let noise = synthetic_model(out.len() / 7 + 1000, seed);
    for (i, byte) in noise.iter().enumerate().take(out.len() / 7) {
        out[(i * 7 + seed as usize) % model.len()] ^= byte | 1;
    }
    out.extend_from_slice(&noise[..1000 + (seed as usize % 500)]);
    out
}

/// Which model a boot loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// The model before the update.
    Old,
    /// The model the update writes.
    New,
}

/// A device with `old` provisioned in slot A, and the bundle to `new`.
#[derive(Clone)]
pub struct Rig<const W: usize, const E: usize, const R: usize> {
    pub layout: FlashLayout,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
    pub bundle: Vec<u8>,
    /// The provisioned device before the update.
    pub start: SimFlash<W, E, R>,
    old_sha: [u8; 32],
    new_sha: [u8; 32],
}

fn round_up(n: usize, unit: usize) -> usize {
    n.div_ceil(unit) * unit
}

impl<const W: usize, const E: usize, const R: usize> Rig<W, E, R> {
    /// Slots sized for the larger model, a two-bank state region, and a staging region that
    /// holds the bundle (which the staged tests program there).
    pub fn new(old: Vec<u8>, new: Vec<u8>) -> Self {
        Self::with_coder(old, new, DeltaCodec::Smallest)
    }

    /// [`Rig::new`] with the bundle coded by `coder`.
    pub fn with_coder(old: Vec<u8>, new: Vec<u8>, coder: DeltaCodec) -> Self {
        let bundle = build_bundle_with(
            &old,
            &new,
            E.trailing_zeros() as u8,
            PROVISIONED_COUNTER + 1,
            coder,
        );
        let slot = round_up(old.len().max(new.len()), E);
        let state = 2 * round_up(512, E);
        let staging = round_up(bundle.len(), E);
        let at = |n: usize| u32::try_from(n).unwrap();
        let layout = FlashLayout::new(
            Region::new(0, at(slot)),
            Region::new(at(slot), at(slot)),
            Region::new(at(2 * slot), at(state)),
        )
        .with_staging(Region::new(at(2 * slot + state), at(staging)));
        let mut flash = SimFlash::new(2 * slot + state + staging);
        flash.program_at(0, &old);
        let old_sha = sha256(&old);
        let image = SlotImage {
            len: old.len() as u64,
            sha256: old_sha,
        };
        Updater::provision(&mut flash, layout, Slot::A, image, PROVISIONED_COUNTER).unwrap();
        Self {
            layout,
            new_sha: sha256(&new),
            old_sha,
            old,
            new,
            bundle,
            start: flash,
        }
    }

    /// The provisioned device with the bundle also stored in the staging region.
    pub fn staged_start(&self) -> SimFlash<W, E, R> {
        let mut flash = self.start.clone();
        let at = self.layout.staging.unwrap().offset as usize;
        flash.program_at(at, &self.bundle);
        flash
    }

    /// The model a boot decision points at; panics unless it is exactly OLD or exactly NEW.
    pub fn loaded(&self, flash: &[u8], decision: &BootDecision) -> Model {
        let start = decision.region.offset as usize;
        let bytes = &flash[start..start + decision.image.len as usize];
        if bytes == self.old.as_slice() && decision.image.sha256 == self.old_sha {
            Model::Old
        } else if bytes == self.new.as_slice() && decision.image.sha256 == self.new_sha {
            Model::New
        } else {
            panic!("boot would load neither the old nor the new model: {decision:?}")
        }
    }

    /// Checks the end state: NEW confirmed in slot B, counter committed, boots confirmed.
    pub fn assert_new_confirmed(&self, flash: &mut SimFlash<W, E, R>) {
        let mut up = Updater::open(&mut *flash, self.layout).unwrap();
        let state = *up.state();
        assert_eq!(state.phase, Phase::Idle);
        assert_eq!(state.active, Slot::B);
        assert_eq!(state.committed_counter, PROVISIONED_COUNTER + 1);
        let decision = up.boot(POLICY).unwrap();
        assert_eq!(decision.kind, BootKind::Confirmed);
        assert_eq!(self.loaded(up.flash().bytes(), &decision), Model::New);
    }
}

/// How a drive to the new model went.
#[derive(Debug, Default, Clone)]
pub struct Drive {
    /// Boots (journal openings) it took.
    pub boots: u32,
    /// Payload offsets at which update sessions resumed an interrupted update.
    pub resumed_at: Vec<u64>,
    /// Whether a trial was reverted on the way.
    pub reverted: bool,
}

/// How the firmware gets the bundle.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Downloaded in fragments of these sizes, in turn.
    Download(&'a [usize]),
    /// Stored whole in the staging region.
    Staged,
}

/// Does what a firmware does at each boot until the new model is confirmed: open the journal,
/// boot (checking that the slot it points at holds exactly OLD or exactly NEW), confirm a
/// trial, or (re)apply the bundle. Returns the first error (a power cut) as is.
pub fn drive_to_new<const W: usize, const E: usize, const R: usize>(
    flash: &mut SimFlash<W, E, R>,
    rig: &Rig<W, E, R>,
    source: Source<'_>,
) -> Result<Drive, Error> {
    drive_to_new_via(flash, rig, source, SimFlash::bytes)
}

/// [`drive_to_new`] through any driver of the simulated part (an adapter around it);
/// `bytes` reads the part's contents through the driver.
pub fn drive_to_new_via<F: NorFlash, const W: usize, const E: usize, const R: usize>(
    flash: &mut F,
    rig: &Rig<W, E, R>,
    source: Source<'_>,
    bytes: impl Fn(&F) -> &[u8],
) -> Result<Drive, Error> {
    let mut drive = Drive::default();
    let (header, signature, payload) = split(&rig.bundle);
    for _ in 0..6 {
        let mut up = Updater::open(&mut *flash, rig.layout)?;
        let decision = up.boot(POLICY)?;
        drive.boots += 1;
        drive.reverted |= decision.kind == BootKind::Reverted;
        match (decision.kind, rig.loaded(bytes(up.flash()), &decision)) {
            (BootKind::Confirmed, Model::New) => return Ok(drive),
            (BootKind::Trial, Model::New) => up.confirm()?,
            (BootKind::Confirmed | BootKind::Reverted, Model::Old) => {
                let mut admission = ParseOnlyAdmission::default();
                let mut work = vec![0u8; WORK_LEN];
                if let Some(point) = decision.resume {
                    drive.resumed_at.push(point.payload_offset);
                }
                match source {
                    Source::Download(sizes) => {
                        let mut session = up.begin(&mut admission, header, signature, &mut work)?;
                        assert_eq!(
                            session.bundle_offset(),
                            decision
                                .resume
                                .map_or(SIGNED_BUNDLE_PREFIX as u64, |r| r.bundle_offset())
                        );
                        let mut at = session.payload_offset() as usize;
                        for &size in sizes.iter().cycle() {
                            if at == payload.len() {
                                break;
                            }
                            let end = at.saturating_add(size).min(payload.len());
                            session.feed(&payload[at..end])?;
                            at = end;
                        }
                        session.finish()?;
                    }
                    Source::Staged => {
                        let mut read_buf = [0u8; 1536];
                        up.apply_staged(&mut admission, &mut work, &mut read_buf)?;
                    }
                }
            }
            (kind, model) => panic!("boot {kind:?} loads the {model:?} model"),
        }
    }
    panic!("the device did not reach the new model in 6 boots")
}

/// Flash addresses of the journal records with the `n` highest sequence numbers, newest first
/// (docs/journal-format.md: the magic `MLRJ` at byte 0 and the sequence number at byte 8 of a
/// record; records start on 8-byte boundaries in these layouts).
pub fn newest_records<const W: usize, const E: usize, const R: usize>(
    flash: &SimFlash<W, E, R>,
    state: Region,
    n: usize,
) -> Vec<u32> {
    let bytes = &flash.bytes()[state.offset as usize..state.end() as usize];
    let mut records: Vec<(u32, u32)> = (0..bytes.len() - 12)
        .step_by(8)
        .filter(|&at| bytes[at..at + 4] == *b"MLRJ")
        .map(|at| {
            let seq = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            (seq, state.offset + at as u32)
        })
        .collect();
    records.sort_unstable_by(|a, b| b.cmp(a));
    records.into_iter().take(n).map(|(_, at)| at).collect()
}
