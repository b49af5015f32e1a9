//! The example end to end on the host: build the example's bundles exactly as
//! `cargo mallorn build` does (into a temporary directory), then, for each SKU, play a device
//! with the generated constants on a simulated NOR flash of that SKU's geometry: provision an
//! old release, boot, apply the published bundle through the runtime's `Updater` (begin ->
//! feed -> finish), reboot into the trial, check the model, confirm, reboot.

use std::path::Path;

use mallorn_engine::build::{self, BuildOptions, Index, Quiet};
use mallorn_manifest::{LoadedManifest, Manifest};
use mallorn_runtime::Error;
use mallorn_runtime::hash::sha256;
use mallorn_runtime::sim::SimFlash;
use mallorn_runtime::storage::VerifyingAdmit;
use mallorn_runtime::storage::{BootKind, BootPolicy, FlashLayout, Slot, SlotImage, Updater};
use mallorn_runtime::verify::DeviceContext;
use wakeword_device_firmware::sku::{wakeword_m4_1mb as m4, wakeword_s3_8mb as s3};
use wakeword_device_firmware::{ApplyError, apply_bundle};

fn manifest() -> LoadedManifest {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Mallorn.toml");
    Manifest::load(&path).expect("the example's Mallorn.toml is valid")
}

/// Builds every bundle of the example into a temporary directory.
fn build_example(loaded: &LoadedManifest) -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().unwrap();
    let report = build::build(
        loaded,
        &BuildOptions {
            targets: Vec::new(),
            allow_unsigned: false,
            output_dir: dir.path().join("mallorn"),
            threads: 2,
            write_source_tree: false,
            observer: &Quiet,
        },
    )
    .expect("the example builds");
    (dir, report.index.expect("a fresh build writes an index"))
}

/// A bundle of the build by SKU, model and from-version (`None`: the full image).
fn bundle(dir: &Path, index: &Index, sku: &str, model: &str, from: Option<&str>) -> Vec<u8> {
    let record = index
        .artefacts
        .iter()
        .find(|a| a.sku == sku && a.model == model && a.from.as_deref() == from)
        .unwrap_or_else(|| panic!("no bundle {sku} {model} from {from:?}"));
    std::fs::read(dir.join("mallorn").join(&record.path)).unwrap()
}

fn release(loaded: &LoadedManifest, model: &str, version: &str) -> Vec<u8> {
    let release = loaded
        .model(model)
        .unwrap()
        .releases
        .iter()
        .find(|r| r.version.to_string() == version)
        .unwrap();
    std::fs::read(&release.path.absolute).unwrap()
}

/// One model slot pair of one SKU, as the generated constants describe it.
struct Device {
    layout: FlashLayout,
    flash_size: usize,
    context: DeviceContext<'static>,
    work_len: usize,
    ram_buffer: usize,
    latest: SlotImage,
    latest_counter: u64,
    boot_policy: BootPolicy,
}

/// Plays the device's update of `model` from `old` (provisioned in slot A with counter
/// `old_counter`) with `bundle`; checks the trial, confirms and checks the result.
fn update<const WRITE: usize, const ERASE: usize>(
    device: &Device,
    old: &[u8],
    old_counter: u64,
    bundle: &[u8],
    expected: &[u8],
) -> Result<(), ApplyError> {
    let mut flash = SimFlash::<WRITE, ERASE>::new(device.flash_size);
    flash.program_at(device.layout.slot_a.offset as usize, old);
    let provisioned = SlotImage {
        len: old.len() as u64,
        sha256: sha256(old),
    };
    let mut updater =
        Updater::provision(&mut flash, device.layout, Slot::A, provisioned, old_counter).unwrap();
    assert_eq!(
        updater.boot(device.boot_policy).unwrap().kind,
        BootKind::Confirmed
    );

    let mut work = vec![0; device.ram_buffer];
    let mut scratch = [0u8; 256];
    let mut admission = VerifyingAdmit::from_context(device.context, &mut scratch);
    let finished = apply_bundle(&mut updater, &mut admission, bundle, &mut work, 1024)?;
    assert_eq!(finished.slot, Slot::B);
    assert_eq!(finished.image, device.latest);
    reboot(updater);

    // Reboot: the new model boots on trial, from slot B, and is the latest release.
    let mut updater = Updater::open(&mut flash, device.layout).unwrap();
    let boot = updater.boot(device.boot_policy).unwrap();
    assert_eq!((boot.kind, boot.slot), (BootKind::Trial, Slot::B));
    let mut loaded = vec![0; expected.len()];
    updater.read_slot(Slot::B, 0, &mut loaded).unwrap();
    assert_eq!(loaded, expected);
    assert_eq!(boot.image, device.latest);
    updater.confirm().unwrap();
    assert_eq!(updater.state().committed_counter, device.latest_counter);
    reboot(updater);

    let mut updater = Updater::open(&mut flash, device.layout).unwrap();
    let boot = updater.boot(device.boot_policy).unwrap();
    assert_eq!((boot.kind, boot.slot), (BootKind::Confirmed, Slot::B));
    Ok(())
}

/// A reset: whatever the firmware held in RAM is gone; the flash stays.
fn reboot<T>(_ram: T) {}

macro_rules! device {
    ($sku:ident, $model:ident) => {
        Device {
            layout: $sku::$model::LAYOUT,
            flash_size: $sku::FLASH_SIZE,
            context: $sku::$model::device_context(0),
            work_len: $sku::WORK_LEN,
            ram_buffer: $sku::RAM_BUFFER,
            latest: $sku::$model::IMAGE,
            latest_counter: $sku::$model::SECURITY_COUNTER,
            boot_policy: $sku::BOOT_POLICY,
        }
    };
}

fn latest_of(loaded: &LoadedManifest, model: &str) -> (String, Vec<u8>) {
    let latest = loaded.model(model).unwrap().latest().unwrap();
    (
        latest.version.to_string(),
        std::fs::read(&latest.path.absolute).unwrap(),
    )
}

#[test]
fn generated_files_match_the_manifest() {
    let loaded = manifest();
    let report = build::check_generated(&loaded, &[], false).unwrap();
    assert_eq!(report.checked.len(), 6);
    let stale: Vec<_> = report.stale.iter().map(|f| &f.written).collect();
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `cargo mallorn build --manifest-path examples/wakeword-device/Mallorn.toml`"
    );
}

#[test]
fn every_sku_applies_its_bundles_through_the_updater() {
    let loaded = manifest();
    let (dir, index) = build_example(&loaded);
    let (_, okay_nabu) = latest_of(&loaded, "okay-nabu");
    let (_, micro_speech) = latest_of(&loaded, "micro-speech");
    let old_speech = release(&loaded, "micro-speech", "1.0.0");
    let old_nabu = release(&loaded, "okay-nabu", "2.1.0");

    // micro-speech 1.0.0 -> 1.1.0 is a delta: the base check runs against slot A.
    for (sku, device) in [
        ("wakeword-s3-8mb", device!(s3, micro_speech)),
        ("wakeword-m4-1mb", device!(m4, micro_speech)),
    ] {
        let delta = bundle(dir.path(), &index, sku, "micro-speech", Some("1.0.0"));
        let record = index
            .artefacts
            .iter()
            .find(|a| a.sku == sku && a.model == "micro-speech" && a.from.is_some())
            .unwrap();
        assert_eq!(record.kind.as_str(), "delta", "{sku}");
        assert!(record.ram_required as usize <= device.work_len, "{sku}");
        let result = match sku {
            "wakeword-s3-8mb" => update::<{ s3::WRITE_SIZE }, { s3::ERASE_SIZE }>(
                &device,
                &old_speech,
                1,
                &delta,
                &micro_speech,
            ),
            _ => update::<{ m4::WRITE_SIZE }, { m4::ERASE_SIZE }>(
                &device,
                &old_speech,
                1,
                &delta,
                &micro_speech,
            ),
        };
        result.unwrap_or_else(|e| panic!("{sku}: {e}"));
    }

    // okay-nabu from 2.1.0, and the full image onto a device whose slot holds something else.
    for from in [Some("2.1.0"), None] {
        for a in index.artefacts.iter().filter(|a| a.model == "okay-nabu") {
            let work_len = if a.sku == "wakeword-s3-8mb" {
                s3::WORK_LEN
            } else {
                m4::WORK_LEN
            };
            assert!(a.ram_required as usize <= work_len, "{}", a.path);
        }
        let s3_bundle = bundle(dir.path(), &index, "wakeword-s3-8mb", "okay-nabu", from);
        update::<{ s3::WRITE_SIZE }, { s3::ERASE_SIZE }>(
            &device!(s3, okay_nabu),
            &old_nabu,
            4,
            &s3_bundle,
            &okay_nabu,
        )
        .unwrap();
        let m4_bundle = bundle(dir.path(), &index, "wakeword-m4-1mb", "okay-nabu", from);
        let damaged: Vec<u8> = old_nabu.iter().map(|b| b ^ 0x5a).collect();
        let base = if from.is_none() { &damaged } else { &old_nabu };
        update::<{ m4::WRITE_SIZE }, { m4::ERASE_SIZE }>(
            &device!(m4, okay_nabu),
            base,
            4,
            &m4_bundle,
            &okay_nabu,
        )
        .unwrap();
    }
}

#[test]
fn devices_refuse_bundles_for_another_sku_model_or_an_old_counter() {
    let loaded = manifest();
    let (dir, index) = build_example(&loaded);
    let old_speech = release(&loaded, "micro-speech", "1.0.0");
    let (_, new_speech) = latest_of(&loaded, "micro-speech");
    let s3_delta = bundle(
        dir.path(),
        &index,
        "wakeword-s3-8mb",
        "micro-speech",
        Some("1.0.0"),
    );
    let m4 = device!(m4, micro_speech);
    let refused = |result: Result<(), ApplyError>| match result {
        Err(ApplyError::Runtime(error)) => error,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Built for the other SKU.
    assert!(matches!(
        refused(update::<{ m4::WRITE_SIZE }, { m4::ERASE_SIZE }>(
            &m4,
            &old_speech,
            1,
            &s3_delta,
            &new_speech
        )),
        Error::WrongSku { .. }
    ));
    // The right SKU, but the device's slot pair holds the other model.
    let m4_nabu = device!(m4, okay_nabu);
    let m4_delta = bundle(
        dir.path(),
        &index,
        "wakeword-m4-1mb",
        "micro-speech",
        Some("1.0.0"),
    );
    assert!(matches!(
        refused(update::<{ m4::WRITE_SIZE }, { m4::ERASE_SIZE }>(
            &m4_nabu,
            &old_speech,
            1,
            &m4_delta,
            &new_speech
        )),
        Error::WrongModel { .. }
    ));
    // A device that already committed the bundle's counter (a replay).
    assert!(matches!(
        refused(update::<{ m4::WRITE_SIZE }, { m4::ERASE_SIZE }>(
            &m4,
            &old_speech,
            m4::micro_speech::SECURITY_COUNTER,
            &m4_delta,
            &new_speech
        )),
        Error::CounterNotIncreasing { .. }
    ));
}
