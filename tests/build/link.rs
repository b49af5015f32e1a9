//! The generated linker fragment works where it is meant to: `INCLUDE`d from a cortex-m-rt
//! style memory.x and linked with rust-lld (the linker Rust uses for Cortex-M), it defines
//! the slot symbols at the right addresses, and its ASSERTs stop a link whose FLASH region
//! overlaps a model slot. Skipped, with a notice, without rust-lld or the thumbv7em target.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::Example;

/// rust-lld of the active toolchain.
fn rust_lld() -> Option<PathBuf> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let version = Command::new(&rustc).arg("-vV").output().ok()?;
    let host = String::from_utf8(version.stdout)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))?;
    let path = PathBuf::from(String::from_utf8(sysroot.stdout).ok()?.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin/rust-lld");
    path.is_file().then_some(path)
}

/// A Cortex-M object file with one function.
fn object(dir: &Path) -> Option<PathBuf> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    std::fs::write(
        dir.join("app.rs"),
        "#![no_std]\n#[unsafe(no_mangle)]\npub extern \"C\" fn app() -> u32 { 7 }\n",
    )
    .unwrap();
    let out = Command::new(rustc)
        .args([
            "--crate-type=lib",
            "--emit=obj",
            "--target",
            "thumbv7em-none-eabihf",
            "-C",
            "panic=abort",
            "--edition",
            "2024",
            "-o",
            "app.o",
            "app.rs",
        ])
        .current_dir(dir)
        .output()
        .ok()?;
    out.status.success().then(|| dir.join("app.o"))
}

fn link(lld: &Path, dir: &Path, flash_len: &str) -> std::process::Output {
    std::fs::write(
        dir.join("memory.x"),
        format!(
            "MEMORY {{\n  FLASH : ORIGIN = 0x08000000, LENGTH = {flash_len}\n  RAM : ORIGIN = 0x20000000, LENGTH = 128K\n}}\nINCLUDE mallorn-memory.x\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("link.x"),
        "INCLUDE memory.x\nENTRY(app)\nSECTIONS { .text : { *(.text*) } > FLASH }\n",
    )
    .unwrap();
    Command::new(lld)
        .args([
            "-flavor", "gnu", "-T", "link.x", "-L", ".", "app.o", "-o", "app.elf",
        ])
        .current_dir(dir)
        .output()
        .expect("rust-lld runs")
}

#[test]
fn the_linker_fragment_links_and_its_asserts_bite() {
    let Some(lld) = rust_lld() else {
        eprintln!("notice: rust-lld not found; skipping the linker fragment test");
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let Some(_) = object(scratch.path()) else {
        eprintln!("notice: no thumbv7em-none-eabihf target; skipping the linker fragment test");
        return;
    };
    let example = Example::new();
    example.build().unwrap();
    std::fs::write(
        scratch.path().join("mallorn-memory.x"),
        example.output_text("wakeword-m4-1mb/mallorn-memory.x"),
    )
    .unwrap();

    // Firmware in the first 512 KiB: the model regions start at 0x0808_0000.
    let out = link(&lld, scratch.path(), "512K");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let elf = std::fs::read(scratch.path().join("app.elf")).unwrap();
    let symbols = elf32_symbols(&elf);
    for (symbol, address) in [
        ("__mallorn_okay_nabu_slot_a_start", 0x0808_0000),
        ("__mallorn_okay_nabu_slot_b_start", 0x080a_0000),
        ("__mallorn_okay_nabu_slot_b_size", 0x0002_0000),
        ("__mallorn_okay_nabu_state_start", 0x080c_0000),
        ("__mallorn_micro_speech_slot_a_end", 0x080c_a000),
        ("__mallorn_erase_size", 0x1000),
    ] {
        assert_eq!(symbols.get(symbol), Some(&address), "{symbol}");
    }

    // A FLASH region over the whole part overlaps the slots: the link fails and says why.
    let out = link(&lld, scratch.path(), "1M");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mallorn: the FLASH region overlaps okay-nabu slot-a (0x08080000..0x080a0000): shrink FLASH in memory.x, or move [target.models.okay-nabu] slot-a in Mallorn.toml"),
        "{stderr}"
    );
}

/// Name -> value of the symbols of a little-endian ELF32 file (what the link produced).
fn elf32_symbols(elf: &[u8]) -> std::collections::BTreeMap<String, u32> {
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap());
    assert_eq!(&elf[..5], b"\x7fELF\x01", "an ELF32 file");
    let (shoff, shentsize, shnum) = (u32_at(0x20) as usize, u16_at(0x2e), u16_at(0x30));
    let section = |i: usize| shoff + i * shentsize;
    let mut symbols = std::collections::BTreeMap::new();
    for i in 0..shnum {
        let header = section(i);
        if u32_at(header + 4) != 2 {
            continue; // not SHT_SYMTAB
        }
        let (offset, size) = (u32_at(header + 16) as usize, u32_at(header + 20) as usize);
        let strtab = u32_at(section(u32_at(header + 24) as usize) + 16) as usize;
        for entry in (offset..offset + size).step_by(16) {
            let name_at = strtab + u32_at(entry) as usize;
            let end = elf[name_at..].iter().position(|&b| b == 0).unwrap();
            let name = String::from_utf8_lossy(&elf[name_at..name_at + end]).into_owned();
            symbols.insert(name, u32_at(entry + 4));
        }
    }
    symbols
}
