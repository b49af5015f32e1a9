//! Host side of the example, run by cargo before the firmware is compiled.
//!
//! 1. Puts `memory.x` on the linker's search path (cortex-m-rt's `link.x` includes it).
//! 2. Plays `cargo mallorn build` until that command lands: reads `Mallorn.toml`, builds and
//!    signs the update bundle from the model's second-to-last release to its last one with
//!    `mallorn_engine::bundle::build_bundle` (which applies every bundle once before handing
//!    it out), and writes the Rust include with the SKU id, flash geometry, slot layout,
//!    trusted keys, model id and releases. Everything lands in
//!    `$OUT_DIR/mallorn/<sku>/`, the layout `cargo mallorn build` uses under the target
//!    directory; `src/generated.rs` is the one place the firmware reads it from.
//!
//! Besides the bundle a device would get, it writes two variants for the size and RAM
//! figures: the same update coded with the smallest codec profile (`Tiny`), and unsigned.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mallorn_engine::bundle::{BuiltBundle, BundleIdentity, BundleRequest, build_bundle};
use mallorn_engine::delta::EncodeOptions;
use mallorn_engine::signing::{KeySource as EngineKeySource, PublicKey, SigningKey};
use mallorn_manifest::{KeySource, Manifest, Model, ModelSlots, Release, Target};
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::format::{ModelVersion, model_id, sku_id};
use mallorn_runtime::hash::sha256;

/// The SKU of Mallorn.toml this firmware is built for.
const SKU: &str = "mps2-an386";

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

    std::fs::copy(package.join("memory.x"), out.join("memory.x"))
        .map_err(|e| format!("copying memory.x: {e}"))?;
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed=memory.x");

    let manifest_path = package.join("Mallorn.toml");
    println!("cargo::rerun-if-changed=Mallorn.toml");
    let manifest =
        Manifest::load(&manifest_path).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let target = manifest
        .target(SKU)
        .ok_or_else(|| format!("Mallorn.toml has no [[target]] with sku = \"{SKU}\""))?;
    let mut carried = manifest.carried_models(target);
    let (model, slots) = match (carried.next(), carried.next()) {
        (Some(one), None) => one,
        _ => {
            return Err(format!(
                "the example expects {SKU} to carry exactly one model"
            ));
        }
    };
    let [.., old, new] = model.releases.as_slice() else {
        return Err(format!(
            "model {} needs two releases (the provisioned one and the update)",
            model.name
        ));
    };

    let key = signing_key(&manifest)?;
    let trusted = trusted_keys(&manifest)?;
    let old_bytes = read(&old.path.absolute)?;
    let new_bytes = read(&new.path.absolute)?;

    let identity = BundleIdentity {
        model_id: model_id(&model.name),
        sku_id: sku_id(&target.sku),
        from_version: version(old),
        to_version: version(new),
        security_counter: u64::from(new.counter),
    };
    let options = EncodeOptions::for_target(target.flash.erase_size, target.ram_buffer)
        .map_err(|e| format!("target {SKU}: {e}"))?;
    let tiny = EncodeOptions {
        profile: Profile::Tiny,
        ..options
    };
    let build = |options: EncodeOptions, key: Option<&SigningKey>| {
        build_bundle(&BundleRequest {
            base: Some(&old_bytes),
            target: &new_bytes,
            identity: identity.clone(),
            options,
            key,
        })
        .map_err(|e| format!("building the {} bundle: {e}", model.name))
    };
    let sku_dir = out.join("mallorn").join(SKU);
    std::fs::create_dir_all(&sku_dir).map_err(|e| format!("{}: {e}", sku_dir.display()))?;
    let stem = format!("{}-{}-{}", model.name, old.version, new.version);
    let bundles = [
        (format!("{stem}.mlrn"), build(options, Some(&key))?),
        (format!("{stem}-tiny.mlrn"), build(tiny, Some(&key))?),
        (format!("{stem}-unsigned.mlrn"), build(options, None)?),
    ];
    for (name, bundle) in &bundles {
        write(&sku_dir.join(name), &bundle.bytes)?;
    }
    let include = rust_include(target, model, slots, &trusted, &[old, new], &bundles)?;
    write(&sku_dir.join("mallorn.rs"), include.as_bytes())?;
    Ok(())
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("cargo did not set {name}"))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    println!("cargo::rerun-if-changed={}", path.display());
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes only when the contents change, so an unchanged include does not rebuild the firmware.
fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn signing_key(manifest: &Manifest) -> Result<SigningKey, String> {
    let signing = manifest
        .signing
        .as_ref()
        .ok_or("Mallorn.toml has no [signing] section: the firmware only accepts signed bundles")?;
    let source = match &signing.key {
        KeySource::File(path) => {
            println!("cargo::rerun-if-changed={}", path.absolute.display());
            EngineKeySource::File(path.absolute.clone())
        }
        KeySource::Env(name) => {
            println!("cargo::rerun-if-env-changed={name}");
            EngineKeySource::Env(name.clone())
        }
    };
    source.load().map_err(|e| e.to_string())
}

fn trusted_keys(manifest: &Manifest) -> Result<Vec<PublicKey>, String> {
    let signing = manifest
        .signing
        .as_ref()
        .ok_or("Mallorn.toml has no [signing] section")?;
    signing
        .trusted_keys
        .iter()
        .map(|path| {
            println!("cargo::rerun-if-changed={}", path.absolute.display());
            PublicKey::load(&path.absolute).map_err(|e| e.to_string())
        })
        .collect()
}

fn version(release: &Release) -> ModelVersion {
    let v = &release.version;
    let part = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    ModelVersion::new(part(v.major), part(v.minor), part(v.patch))
}

fn bytes(b: &[u8]) -> String {
    let items: Vec<String> = b.iter().map(|x| format!("0x{x:02x}")).collect();
    format!("[{}]", items.join(", "))
}

fn region(r: mallorn_manifest::Region) -> Result<String, String> {
    let narrow = |n: u64| u32::try_from(n).map_err(|_| format!("{n:#x} does not fit 32 bits"));
    Ok(format!(
        "::mallorn_runtime::storage::Region::new({:#x}, {:#x})",
        narrow(r.offset)?,
        narrow(r.size)?
    ))
}

/// The Rust include: constants only, sorted as in Mallorn.toml, no paths or timestamps.
fn rust_include(
    target: &Target,
    model: &Model,
    slots: &ModelSlots,
    trusted: &[PublicKey],
    releases: &[&Release],
    bundles: &[(String, BuiltBundle)],
) -> Result<String, String> {
    let mut s = String::new();
    let mut line = |text: &str| {
        s.push_str(text);
        s.push('\n');
    };
    line("// @generated from Mallorn.toml by examples/qemu-mps2/build.rs. Do not edit.");
    line("");
    line("/// The SKU this firmware is built for.");
    line(&format!("pub const SKU: &str = {:?};", target.sku));
    line("/// Its id, as bundles name it.");
    line(&format!(
        "pub const SKU_ID: [u8; 8] = {};",
        bytes(&sku_id(&target.sku))
    ));
    line("/// Address of the first byte of the flash device that holds the slots.");
    line(&format!(
        "pub const FLASH_BASE: u32 = {:#x};",
        target.flash.base
    ));
    line("/// Size of that flash device in bytes.");
    line(&format!(
        "pub const FLASH_SIZE: usize = {};",
        target.flash.size
    ));
    line("/// Its erase block size.");
    line(&format!(
        "pub const FLASH_ERASE_SIZE: usize = {};",
        target.flash.erase_size
    ));
    line("/// Its program unit.");
    line(&format!(
        "pub const FLASH_WRITE_SIZE: usize = {};",
        target.flash.write_size
    ));
    line("/// Work buffer the update applier may use.");
    line(&format!(
        "pub const RAM_BUFFER: usize = {};",
        target.ram_buffer
    ));
    line("/// Keys whose signatures this SKU accepts: the current key and its successor.");
    line(&format!(
        "pub const TRUSTED_KEYS: [::mallorn_runtime::verify::TrustedKey; {}] = [",
        trusted.len()
    ));
    for key in trusted {
        line(&format!(
            "    ::mallorn_runtime::verify::TrustedKey {{ id: {}, public_key: {} }},",
            bytes(&key.key_id()),
            bytes(&key.to_bytes())
        ));
    }
    line("];");
    line("");
    line("/// One release of a model: what the device checks a slot against.");
    line("#[derive(Debug, Clone, Copy)]");
    line("pub struct Release {");
    line("    /// Its version.");
    line("    pub version: ::mallorn_runtime::format::ModelVersion,");
    line("    /// Its anti-rollback security counter.");
    line("    pub counter: u64,");
    line("    /// Its length in bytes.");
    line("    pub len: u64,");
    line("    /// Its SHA-256.");
    line("    pub sha256: [u8; 32],");
    line("}");
    line("");
    line(&format!("/// Model `{}`.", model.name));
    line(&format!("pub mod {} {{", model.name.replace('-', "_")));
    line("    /// Its name in Mallorn.toml.");
    line(&format!("    pub const NAME: &str = {:?};", model.name));
    line("    /// Its id, as bundles name it.");
    line(&format!(
        "    pub const MODEL_ID: [u8; 8] = {};",
        bytes(&model_id(&model.name))
    ));
    line("    /// Its slots and update journal on the flash device (offsets from FLASH_BASE).");
    line("    pub const LAYOUT: ::mallorn_runtime::storage::FlashLayout =");
    line(&format!(
        "        ::mallorn_runtime::storage::FlashLayout::new({}, {}, {});",
        region(slots.slot_a)?,
        region(slots.slot_b)?,
        region(slots.state)?
    ));
    line("    const _: () = assert!(");
    line("        LAYOUT");
    line(
        "            .validate(super::FLASH_ERASE_SIZE, super::FLASH_WRITE_SIZE, 1, super::FLASH_SIZE)",
    );
    line("            .is_ok()");
    line("    );");
    line("    /// The releases the bundles connect, oldest first.");
    line(&format!(
        "    pub const RELEASES: [super::Release; {}] = [",
        releases.len()
    ));
    for release in releases {
        let data = std::fs::read(&release.path.absolute)
            .map_err(|e| format!("{}: {e}", release.path.absolute.display()))?;
        let v = version(release);
        let mut entry = String::new();
        let _ = write!(
            entry,
            "        super::Release {{ version: ::mallorn_runtime::format::ModelVersion::new({}, {}, {}), counter: {}, len: {}, sha256: {} }},",
            v.major,
            v.minor,
            v.patch,
            release.counter,
            data.len(),
            bytes(&sha256(&data))
        );
        line(&entry);
    }
    line("    ];");
    line("}");
    line("");
    line("// Bundles written beside this file:");
    for (name, bundle) in bundles {
        line(&format!(
            "//   {name}: {} bytes, codec profile {}, work buffer {} bytes",
            bundle.bytes.len(),
            bundle.header.coder_profile,
            bundle.header.ram_required
        ));
    }
    Ok(s)
}
