//! The checked-in header `include/mallorn_runtime.h`: what cbindgen makes of the source today,
//! free of every name the per-SKU header `cargo mallorn build` generates can define, and
//! compiling with `-Wall -Wextra -Werror -pedantic` as C99 (gcc, arm-none-eabi-gcc) and
//! C++17 (g++) in one translation unit with a generated per-SKU header.

mod common;

use std::process::Command;

use common::{compiler, crate_dir, run, workspace_root};

const HEADER: &str = "include/mallorn_runtime.h";

#[test]
fn the_checked_in_header_is_what_cbindgen_generates() {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .unwrap();
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let checked_in = std::fs::read(dir.join(HEADER)).unwrap();
    assert!(
        fresh == checked_in,
        "{HEADER} is stale: regenerate it with `cbindgen --config cbindgen.toml --output {HEADER}` \
         in mallorn-runtime-c/"
    );
}

/// Whether `name` matches `pattern`, where `*` stands for one or more identifier characters.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (1..=rest.len()).any(|n| matches(tail, &rest[n..]))
        }
    }
}

/// The identifiers in `text` that start with `mallorn_` or `MALLORN_` (any case), with
/// template expressions `{{ ... }}` (and the loops' `{%...%}`) turned into `*`.
fn mallorn_names(text: &str) -> Vec<String> {
    let mut flat = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        flat.push_str(&rest[..start]);
        flat.push('*');
        rest = rest[start..]
            .split_once("}}")
            .map_or("", |(_, after)| after);
    }
    flat.push_str(rest);
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '*';
    let mut names: Vec<String> = flat
        .split(|c: char| !is_ident(c))
        .filter(|w| w.to_ascii_lowercase().starts_with("mallorn_"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `text` without its `/* */` and `//` comments.
fn without_comments(text: &str) -> String {
    let mut code = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start..]
            .split_once("*/")
            .map_or("", |(_, after)| after);
    }
    code.push_str(rest);
    code.lines()
        .map(|line| line.split_once("//").map_or(line, |(before, _)| before))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn no_name_can_clash_with_the_generated_per_sku_header() {
    let template =
        std::fs::read_to_string(workspace_root().join("templates/mallorn.h.j2")).unwrap();
    // The region loop's variable takes the three region names (the template's own list).
    let mut patterns: Vec<String> = ["SLOT_A", "SLOT_B", "STATE"]
        .iter()
        .flat_map(|region| mallorn_names(&template.replace("{{ region_name }}", region)))
        .collect();
    patterns.sort();
    patterns.dedup();
    // The template's own names are found (a change of its syntax must not empty the check).
    for known in [
        "MALLORN_WORK_LEN",
        "MALLORN_*_SLOT_A_OFFSET",
        "MALLORN_TRUSTED_KEY_*_ID",
    ] {
        assert!(patterns.iter().any(|p| p == known), "{known}: {patterns:?}");
    }
    assert!(matches("MALLORN_*_NAME", "MALLORN_OKAY_NABU_NAME"));
    let header = std::fs::read_to_string(crate_dir().join(HEADER)).unwrap();
    // Comments name the generated header's macros on purpose; only code counts.
    let ours = mallorn_names(&without_comments(&header));
    assert!(ours.len() > 50, "{ours:?}");
    for name in &ours {
        for pattern in &patterns {
            assert!(
                !matches(pattern, name),
                "{name} in {HEADER} is a name the generated header defines ({pattern})"
            );
        }
    }
}

/// A translation unit that includes both headers (ours twice) and fills the C ABI's structs
/// from the per-SKU header's macros.
const BOTH: &str = r#"
#include "mallorn_runtime.h"
#include "mallorn.h"
#include "mallorn_runtime.h"

MALLORN_STATIC_ASSERT(sizeof(mallorn_updater_t) == MALLORN_UPDATER_SIZE, "updater size");
MALLORN_STATIC_ASSERT(sizeof(mallorn_session_t) == MALLORN_SESSION_SIZE, "session size");

static const uint8_t keys[MALLORN_TRUSTED_KEY_COUNT][32] = MALLORN_TRUSTED_KEYS;
static const mallorn_admission_t admission = {
    MALLORN_SKU_ID, MALLORN_OKAY_NABU_MODEL_ID, keys, MALLORN_TRUSTED_KEY_COUNT
};
static const mallorn_layout_t layout = {
    { MALLORN_OKAY_NABU_SLOT_A_OFFSET, MALLORN_OKAY_NABU_SLOT_A_SIZE },
    { MALLORN_OKAY_NABU_SLOT_B_OFFSET, MALLORN_OKAY_NABU_SLOT_B_SIZE },
    { MALLORN_OKAY_NABU_STATE_OFFSET, MALLORN_OKAY_NABU_STATE_SIZE },
};
static const mallorn_boot_policy_t policy = { MALLORN_TRIAL_BOOTS, MALLORN_VERIFY_TRIAL_BOOT };
static mallorn_updater_t updater;
static uint8_t work[MALLORN_WORK_LEN];

int main(void) {
    mallorn_boot_t boot;
    mallorn_status_t status = mallorn_updater_boot(&updater, &policy, &boot);
    return (int)admission.sku_id[0] + (int)layout.state.len + (int)work[0]
        + (mallorn_strerror(status) != NULL);
}
"#;

#[test]
fn both_headers_compile_together_as_c99_and_cxx17() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("both.c"), BOTH).unwrap();
    let ours = crate_dir().join("include");
    let sku = workspace_root().join("examples/wakeword-device/firmware/include/wakeword-m4-1mb");
    for (cc, language, std) in [
        ("gcc", "c", "-std=c99"),
        ("g++", "c++", "-std=c++17"),
        ("arm-none-eabi-gcc", "c", "-std=c99"),
        ("arm-none-eabi-gcc", "c", "-std=c11"),
    ] {
        if !compiler(cc, "both_headers_compile_together_as_c99_and_cxx17") {
            continue;
        }
        let mut command = Command::new(cc);
        command
            .args([
                "-x",
                language,
                std,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
            ])
            .args(["-fsyntax-only", "both.c", "-I"])
            .arg(&ours)
            .arg("-I")
            .arg(&sku);
        run(&mut command, dir.path());
    }
}
