//! Host side of the example, run by cargo before the firmware is compiled.
//!
//! 1. Puts `memory.x` on the linker's search path (cortex-m-rt's `link.x` includes it).
//! 2. Runs `cargo mallorn build` for the SKU `mps2-an386` (`mps2-an386-fast` with the
//!    `codec-fast` feature and without `codec-smallest`: the same board, fast-coded bundles
//!    only), through the library entry point the
//!    command uses (`mallorn_engine::build::build`), into `$OUT_DIR/mallorn` and without
//!    touching the source tree. That directory then holds exactly what the command writes
//!    under the target directory: `index.json`, `mps2-an386/mallorn.rs` (the generated Rust
//!    include, which `src/generated.rs` includes) and the signed bundles
//!    `mps2-an386/okay-nabu/*.mlrn`. The build is incremental: its own cache skips the
//!    encoder when nothing changed.
//! 3. Tells the firmware which bundles to carry, as the build plan names them: the bundle for
//!    a device on the factory release (`MALLORN_QEMU_BUNDLE`) and the full image
//!    (`MALLORN_QEMU_FULL_IMAGE`).
//! 4. Writes `factory.rs`, the facts of the release the factory programs into slot A (the one
//!    before the latest; the generated include describes only the latest), and points
//!    `MALLORN_QEMU_FACTORY_MODEL` at its file.
//! 5. Builds two measurement variants that `cargo mallorn build` does not publish, into
//!    `$OUT_DIR/variants`: the same update coded for the smallest work buffer (`Tiny` codec
//!    profile, shortest payload segments: `MALLORN_QEMU_BUNDLE_TINY`) and unsigned
//!    (`MALLORN_QEMU_BUNDLE_UNSIGNED`), both with the identity of the published bundle. The
//!    fast SKU has no codec profiles: only its unsigned variant is built, and
//!    `MALLORN_QEMU_BUNDLE_TINY` names the published bundle.

use std::path::{Path, PathBuf};

use mallorn_engine::build::bundles::build_unit;
use mallorn_engine::build::keys::BuildKeys;
use mallorn_engine::build::versions::header_version;
use mallorn_engine::build::{self, BuildOptions, Coding, Quiet};
use mallorn_engine::bundle::BundleIdentity;
use mallorn_engine::delta::EncodeOptions;
use mallorn_engine::parallel::default_threads;
use mallorn_manifest::{Decoder, KeySource, LoadedManifest, Manifest};
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::segments::MIN_SEGMENT_LOG2;
use mallorn_runtime::format::{BundleHeader, Flags, HEADER_LEN};
use mallorn_runtime::hash::sha256;

/// The SKU of Mallorn.toml this firmware is built for: the board receiving `smallest`
/// bundles, or with `codec-fast` and without `codec-smallest` the same board receiving `fast`
/// bundles only.
fn sku() -> &'static str {
    let feature = |name: &str| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    if feature("CODEC_FAST") && !feature("CODEC_SMALLEST") {
        "mps2-an386-fast"
    } else {
        "mps2-an386"
    }
}

fn main() {
    if let Err(message) = run() {
        for line in message.lines() {
            println!("cargo::error={line}");
        }
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let package = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env("OUT_DIR")?);
    println!("cargo::rerun-if-changed=build.rs");
    let sku = sku();
    // The generated include `src/generated.rs` reads: `mallorn/<sku>/mallorn.rs`.
    println!("cargo::rustc-env=MALLORN_QEMU_SKU={sku}");

    std::fs::copy(package.join("memory.x"), out.join("memory.x"))
        .map_err(|e| format!("copying memory.x: {e}"))?;
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed=memory.x");

    let manifest_path = package.join("Mallorn.toml");
    let loaded = Manifest::load(&manifest_path).map_err(|e| {
        format!(
            "{}: {e} (run `cargo mallorn check` on it)",
            manifest_path.display()
        )
    })?;
    watch_inputs(&loaded);

    // `cargo mallorn build --target mps2-an386`, into $OUT_DIR/mallorn.
    let output_dir = out.join("mallorn");
    let targets = vec![sku.to_owned()];
    build::build(
        &loaded,
        &BuildOptions {
            targets: targets.clone(),
            allow_unsigned: false,
            output_dir: output_dir.clone(),
            threads: default_threads(),
            write_source_tree: false,
            observer: &Quiet,
        },
    )
    .map_err(|e| format!("cargo mallorn build (Mallorn.toml, target {sku}): {e}"))?;

    // Which files the firmware carries, as the plan (and so index.json) names them.
    let plan = build::plan(&loaded, &targets).map_err(|e| e.to_string())?;
    let target_plan = plan
        .targets
        .first()
        .ok_or_else(|| format!("Mallorn.toml has no [[target]] with sku = \"{sku}\""))?;
    let [model_plan] = target_plan.models.as_slice() else {
        return Err(format!(
            "the example expects {sku} to carry exactly one model"
        ));
    };
    let model = model_plan.model_in(&loaded);
    let Some(factory) = model.releases.len().checked_sub(2) else {
        return Err(format!(
            "model {} needs two releases (the factory's and the update)",
            model.name
        ));
    };
    let path_of = |from: Option<usize>| {
        model_plan
            .artefacts
            .iter()
            .find(|a| a.from == from)
            .map(|a| output_dir.join(&a.path))
            .ok_or_else(|| format!("the build plan has no {} bundle from {from:?}", model.name))
    };
    let bundle_path = path_of(Some(factory))?;
    let full_path = path_of(None)?;
    let bundle = read(&bundle_path)?;
    let header = header_of(&bundle, &bundle_path)?;
    if header.flags.contains(Flags::FULL_IMAGE) {
        // The delta was larger than `full-image-threshold` allows: the build published the
        // full image under the delta's name. The firmware still works; the figures change.
        println!(
            "cargo::warning={} is a full image: the delta was not worth it (see index.json)",
            bundle_path.display()
        );
    }
    println!(
        "cargo::rustc-env=MALLORN_QEMU_BUNDLE={}",
        bundle_path.display()
    );
    println!(
        "cargo::rustc-env=MALLORN_QEMU_FULL_IMAGE={}",
        full_path.display()
    );

    // The factory's release.
    let release = &model.releases[factory];
    let old = read(&release.path.absolute)?;
    let version = header_version(&model.name, &release.version).map_err(|e| e.to_string())?;
    let factory_rs = format!(
        "// @generated by examples/qemu-mps2/build.rs from Mallorn.toml. Not one of the files\n\
         // `cargo mallorn build` generates (those describe the latest release only): the\n\
         // release the factory programs into slot A before the update.\n\
         \n\
         /// The release's version ({text}).\n\
         pub const VERSION: ::mallorn_runtime::format::ModelVersion =\n    \
             ::mallorn_runtime::format::ModelVersion::new({major}, {minor}, {patch});\n\
         /// Its anti-rollback security counter: the device's committed counter after provisioning.\n\
         pub const SECURITY_COUNTER: u64 = {counter};\n\
         /// Its file, as the updater records a slot's content.\n\
         pub const IMAGE: ::mallorn_runtime::storage::SlotImage = ::mallorn_runtime::storage::SlotImage {{\n    \
             len: {len},\n    \
             sha256: {sha},\n\
         }};\n",
        text = release.version,
        major = version.major,
        minor = version.minor,
        patch = version.patch,
        counter = release.counter,
        len = old.len(),
        sha = byte_array(&sha256(&old)),
    );
    write(&out.join("factory.rs"), factory_rs.as_bytes())?;
    println!(
        "cargo::rustc-env=MALLORN_QEMU_FACTORY_MODEL={}",
        release.path.absolute.display()
    );

    // The measurement variants, with the identity of the published bundle.
    let Coding::Coder { decoder, options } = target_plan.coding else {
        return Err(format!(
            "{sku} codes stored full images only: nothing to measure"
        ));
    };
    let new = read(&model.releases[factory + 1].path.absolute)?;
    let identity = BundleIdentity {
        model_id: header.model_id,
        sku_id: header.sku_id,
        from_version: header.from_version,
        to_version: header.to_version,
        security_counter: header.security_counter,
        error_bound: None,
    };
    let keys = BuildKeys::load(&loaded, false, true).map_err(|e| e.to_string())?;
    // The smallest work buffer: the smallest codec model and the shortest authenticated
    // payload segment (512 bytes, at 32 link bytes per segment).
    let tiny = Coding::Coder {
        decoder,
        options: EncodeOptions {
            profile: Profile::Tiny,
            segment_log2: MIN_SEGMENT_LOG2,
            ..options
        },
    };
    let variants = out.join("variants");
    std::fs::create_dir_all(&variants).map_err(|e| format!("{}: {e}", variants.display()))?;
    let variants_to_build: &[(&str, &Coding, _)] = if decoder == Decoder::Smallest {
        &[
            ("TINY", &tiny, keys.signer.as_ref()),
            ("UNSIGNED", &target_plan.coding, None),
        ]
    } else {
        // Profiles are the smallest codec's: the `profile-tiny` case applies the bundle itself.
        println!(
            "cargo::rustc-env=MALLORN_QEMU_BUNDLE_TINY={}",
            bundle_path.display()
        );
        &[("UNSIGNED", &target_plan.coding, None)]
    };
    for &(name, coding, key) in variants_to_build {
        let unit = build_unit(
            coding,
            model.format,
            Some(&old),
            &new,
            identity.clone(),
            key,
        )
        .map_err(|e| format!("building the {name} measurement variant: {e}"))?;
        let path = variants.join(format!("{}-{}.mlrn", model.name, name.to_lowercase()));
        write(&path, &unit.bytes)?;
        println!(
            "cargo::rustc-env=MALLORN_QEMU_BUNDLE_{name}={}",
            path.display()
        );
    }
    Ok(())
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

/// Reruns the build script when Mallorn.toml or a file it names changes.
fn watch_inputs(loaded: &LoadedManifest) {
    let watch = |path: &Path| println!("cargo::rerun-if-changed={}", path.display());
    watch(loaded.path());
    for release in loaded.models.iter().flat_map(|m| &m.releases) {
        watch(&release.path.absolute);
    }
    if let Some(signing) = &loaded.signing {
        match &signing.key {
            KeySource::File(path) => watch(&path.absolute),
            KeySource::Env(name) => println!("cargo::rerun-if-env-changed={name}"),
        }
        for key in &signing.trusted_keys {
            watch(&key.absolute);
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn header_of(bundle: &[u8], path: &Path) -> Result<BundleHeader, String> {
    bundle
        .first_chunk::<HEADER_LEN>()
        .and_then(|h| BundleHeader::parse(h).ok())
        .ok_or_else(|| format!("{}: not a bundle", path.display()))
}

/// Writes only when the contents change, so an unchanged file does not rebuild the firmware.
fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn byte_array(bytes: &[u8]) -> String {
    let items: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
    format!("[{}]", items.join(", "))
}
