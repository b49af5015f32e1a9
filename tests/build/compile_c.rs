//! The generated C header compiles cleanly (`-Wall -Wextra -Werror -pedantic`) as C99 and C11
//! with gcc, as C++17 with g++, and as C99 and C11 with arm-none-eabi-gcc, included twice,
//! with every initializer macro used; and its static assertions are live: a header whose
//! numbers disagree does not compile, in every one of those languages. Compilers that are
//! absent are skipped with a notice (CI installs them all).

use std::path::Path;
use std::process::Command;

use crate::common::Example;

fn available(compiler: &str) -> bool {
    Command::new(compiler)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compiler and language standard of each build the header must pass.
const BUILDS: [(&str, &str); 5] = [
    ("gcc", "-std=c99"),
    ("gcc", "-std=c11"),
    ("g++", "-std=c++17"),
    ("arm-none-eabi-gcc", "-std=c99"),
    ("arm-none-eabi-gcc", "-std=c11"),
];

/// Compiles a C file that includes `header` twice and uses its initializer macros.
fn compile(dir: &Path, header: &str, compiler: &str, std: &str) -> std::process::Output {
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
    // g++ compiles main.c as C++ with `-x c++`.
    let language = if compiler == "g++" { "c++" } else { "c" };
    Command::new(compiler)
        .args([
            "-x",
            language,
            std,
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
    let builds: Vec<_> = BUILDS
        .into_iter()
        .filter(|(compiler, _)| {
            let found = available(compiler);
            if !found {
                eprintln!("notice: {compiler} not found; the header is not compiled with it");
            }
            found
        })
        .collect();
    if builds.is_empty() {
        return;
    }
    let example = Example::new();
    example.build().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for sku in ["wakeword-s3-8mb", "wakeword-m4-1mb"] {
        let header = example.output_text(&format!("{sku}/mallorn.h"));
        for (compiler, std) in &builds {
            let out = compile(scratch.path(), &header, compiler, std);
            assert!(
                out.status.success(),
                "{sku} with {compiler} {std}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    // Numbers that disagree stop the compile with the header's own message.
    let header = example.output_text("wakeword-m4-1mb/mallorn.h");
    let broken = header.replace(
        "#define MALLORN_OKAY_NABU_SLOT_B_SIZE UINT32_C(0x00020000)",
        "#define MALLORN_OKAY_NABU_SLOT_B_SIZE UINT32_C(0x00010000)",
    );
    assert_ne!(broken, header);
    for (compiler, std) in &builds {
        let out = compile(scratch.path(), &broken, compiler, std);
        assert!(
            !out.status.success(),
            "{compiler} {std} accepted a broken header"
        );
        if *std == "-std=c99" {
            continue; // C99's negative array size carries no message
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("a okay-nabu release does not fit its slots"),
            "{compiler} {std}: {stderr}"
        );
    }
}
