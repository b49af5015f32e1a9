//! The generated C header compiles cleanly as C11 (`gcc -std=c11 -Wall -Wextra -Werror
//! -pedantic`), included twice, with every initializer macro used; and its `_Static_assert`s
//! are live: a header whose numbers disagree does not compile. Skipped, with a notice, where
//! gcc is absent.

use std::path::Path;
use std::process::Command;

use crate::common::Example;

fn gcc_available() -> bool {
    Command::new("gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compiles a C file that includes `header` twice and uses its initializer macros.
fn compile(dir: &Path, header: &str) -> std::process::Output {
    std::fs::write(dir.join("mallorn.h"), header).unwrap();
    std::fs::write(
        dir.join("main.c"),
        "#include \"mallorn.h\"\n#include \"mallorn.h\"\n\
         static const uint8_t sku[8] = MALLORN_SKU_ID;\n\
         static const uint8_t ids[MALLORN_TRUSTED_KEY_COUNT][8] = MALLORN_TRUSTED_KEY_IDS;\n\
         static const uint8_t keys[MALLORN_TRUSTED_KEY_COUNT][32] = MALLORN_TRUSTED_KEYS;\n\
         static const uint8_t nabu[32] = MALLORN_OKAY_NABU_IMAGE_SHA256;\n\
         static const uint8_t speech[8] = MALLORN_MICRO_SPEECH_MODEL_ID;\n\
         int main(void) {\n\
           return sku[0] + ids[0][0] + keys[1][0] + nabu[0] + speech[0]\n\
             + (int)(MALLORN_OKAY_NABU_SLOT_B_ADDRESS & 1u) + (int)(MALLORN_WORK_LEN & 1u);\n\
         }\n",
    )
    .unwrap();
    Command::new("gcc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
            "main.c",
        ])
        .current_dir(dir)
        .output()
        .expect("gcc runs")
}

#[test]
fn the_c_header_compiles_and_its_checks_bite() {
    if !gcc_available() {
        eprintln!("notice: gcc not found; skipping the C header compile test");
        return;
    }
    let example = Example::new();
    example.build().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for sku in ["wakeword-s3-8mb", "wakeword-m4-1mb"] {
        let header = example.output_text(&format!("{sku}/mallorn.h"));
        let out = compile(scratch.path(), &header);
        assert!(
            out.status.success(),
            "{sku}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Numbers that disagree stop the compile with the header's own message.
    let header = example.output_text("wakeword-m4-1mb/mallorn.h");
    let broken = header.replace(
        "#define MALLORN_OKAY_NABU_SLOT_B_SIZE UINT32_C(0x00020000)",
        "#define MALLORN_OKAY_NABU_SLOT_B_SIZE UINT32_C(0x00010000)",
    );
    assert_ne!(broken, header);
    let out = compile(scratch.path(), &broken);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a okay-nabu release does not fit its slots"),
        "{stderr}"
    );
}
