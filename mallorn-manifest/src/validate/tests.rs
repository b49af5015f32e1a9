//! One failing case per validation rule, against a small valid manifest with real files.

use std::path::Path;

use crate::{
    CodecMode, Decoder, Diagnostic, Effort, KeySource, LoadedManifest, Manifest, ManifestError,
    Severity,
};

const VALID: &str = r#"schema-version = 1

[[model]]
name = "okay-nabu"
format = "tflite"
[[model.release]]
version = "1.0.0"
path = "models/a.tflite"
[[model.release]]
version = "1.1.0"
path = "models/b.tflite"

[codec]
effort = "max"

[signing]
key-file = "keys/release.key"
trusted-keys = ["keys/release.pub"]

[output]
rust = "src/mallorn_generated.rs"

[[target]]
sku = "wakeword-s3-8mb"
ram-buffer = "16KiB"
[target.flash]
base = 0x0800_0000
size = "8MiB"
erase-size = "4KiB"
write-size = 4
[target.models.okay-nabu]
slot-a = { offset = "1MiB", size = "512KiB" }
slot-b = { offset = "1536KiB", size = "512KiB" }
state = { offset = "2MiB", size = "8KiB" }
[target.codec]
decoders = ["stored", "fast"]
"#;

/// A directory with the files `VALID` refers to.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("models/a.tflite"), vec![1u8; 1000]).unwrap();
    std::fs::write(dir.path().join("models/b.tflite"), vec![2u8; 5000]).unwrap();
    std::fs::write(dir.path().join("keys/release.pub"), [0u8; 32]).unwrap();
    std::fs::write(dir.path().join("keys/release.key"), [0u8; 32]).unwrap();
    dir
}

fn load_in(dir: &Path, text: &str) -> Result<LoadedManifest, Vec<Diagnostic>> {
    match Manifest::load_from_str(dir.join("Mallorn.toml"), text.to_owned()) {
        Ok(loaded) => Ok(loaded),
        Err(ManifestError::Invalid(invalid)) => Err(invalid.diagnostics.into_vec()),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// Loads `VALID` with `from` replaced by `to` and returns the diagnostics.
fn problems(from: &str, to: &str) -> Vec<Diagnostic> {
    assert!(VALID.contains(from), "fixture lacks {from:?}");
    let dir = project();
    load_in(dir.path(), &VALID.replacen(from, to, 1)).expect_err("manifest should be invalid")
}

/// Asserts exactly one error, with `code`, on the line holding `line_text`; returns it.
fn single(from: &str, to: &str, code: &str) -> Diagnostic {
    let text = VALID.replacen(from, to, 1);
    let diagnostics: Vec<Diagnostic> = problems(from, to)
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    assert_eq!(
        diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec![code],
        "{diagnostics:#?}"
    );
    let diagnostic = diagnostics.into_iter().next().unwrap();
    assert!(diagnostic.span.end <= text.len());
    assert!(
        diagnostic.hint.is_some(),
        "every problem has a hint: {diagnostic:#?}"
    );
    diagnostic
}

fn line_of(from: &str, to: &str, diagnostic: &Diagnostic) -> String {
    let text = VALID.replacen(from, to, 1);
    let line = diagnostic.span.line_col(&text).line;
    text.lines().nth(line - 1).unwrap().to_owned()
}

#[test]
fn the_fixture_is_valid_and_resolves_everything() {
    let dir = project();
    let loaded = load_in(dir.path(), VALID).unwrap();
    assert!(loaded.warnings().is_empty(), "{:#?}", loaded.warnings());
    let model = loaded.model("okay-nabu").unwrap();
    assert_eq!(model.releases.len(), 2);
    assert_eq!(model.releases[1].size, 5000);
    assert_eq!(model.releases[1].counter, 2);
    assert_eq!(model.releases[1].path.written, "models/b.tflite");
    assert_eq!(
        model.releases[1].path.absolute,
        dir.path().join("models/b.tflite")
    );
    let target = loaded.target("wakeword-s3-8mb").unwrap();
    assert_eq!(target.flash.base, 0x0800_0000);
    assert_eq!(target.flash.erase_size, 4096);
    let (carried, slots) = loaded.carried_models(target).next().unwrap();
    assert_eq!(carried.name, "okay-nabu");
    assert_eq!(
        target.flash.address_of(slots.slot_b),
        0x0800_0000 + 1536 * 1024
    );
    assert_eq!(slots.slot_capacity(), 512 * 1024);
    // [target.codec] overrides decoders, inherits effort from [codec].
    assert_eq!(target.codec.effort, Effort::Max);
    assert_eq!(target.codec.decoders, vec![Decoder::Stored, Decoder::Fast]);
    assert_eq!(target.codec.mode, CodecMode::AsModelsDeclare);
    assert_eq!(model.lossy, None);
    assert_eq!(loaded.codec.decoders, Decoder::ALL.to_vec());
    let signing = loaded.signing.as_ref().unwrap();
    assert!(matches!(&signing.key, KeySource::File(p) if p.written == "keys/release.key"));
    assert_eq!(
        loaded.output.rust.as_ref().unwrap().written,
        "src/mallorn_generated.rs"
    );
    assert_eq!(loaded.targets_carrying("okay-nabu").count(), 1);
}

#[test]
fn syntax_errors_are_reported_with_a_position() {
    let d = single("effort = \"max\"", "effort = \"max", "syntax");
    assert!(line_of("effort = \"max\"", "effort = \"max", &d).starts_with("effort"));
}

#[test]
fn unknown_key_suggests_the_closest_and_keeps_checking_its_value() {
    let all = problems("write-size = 4", "writ-size = 3");
    let codes: Vec<_> = all.iter().map(|d| d.code).collect();
    // The misspelt key is reported, and its value (3, not a power of two) is still checked.
    assert_eq!(codes, vec!["unknown-key", "invalid-geometry"], "{all:#?}");
    assert_eq!(all[0].hint.as_deref(), Some("did you mean `write-size`?"));
    assert_eq!(all[0].message, "unknown key `writ-size` in `target.flash`");
}

#[test]
fn unknown_key_without_a_close_match_lists_the_valid_keys() {
    let d = single(
        "effort = \"max\"",
        "effort = \"max\"\ncolour = 1",
        "unknown-key",
    );
    let hint = d.hint.unwrap();
    assert!(
        hint.contains("`decoders`") && hint.contains("`full-image-threshold`"),
        "{hint}"
    );
}

#[test]
fn schema_version_is_required_and_checked() {
    single("schema-version = 1\n", "", "missing-key");
    single(
        "schema-version = 1",
        "schema-version = 2",
        "unsupported-schema-version",
    );
}

#[test]
fn model_names_are_restricted() {
    let all = problems("name = \"okay-nabu\"", "name = \"Okay Nabu\"");
    let codes: Vec<_> = all.iter().map(|d| d.code).collect();
    // The target still names `okay-nabu`, which no longer exists.
    assert_eq!(codes, vec!["invalid-name", "unknown-model"]);
}

#[test]
fn model_names_are_unique() {
    let second = "[[model]]\nname = \"okay-nabu\"\n[[model.release]]\nversion = \"1.0.0\"\npath = \"models/a.tflite\"\n\n[codec]";
    let d = single("[codec]", second, "duplicate-name");
    assert_eq!(d.related.len(), 1);
}

#[test]
fn a_model_needs_releases() {
    single(
        "[[model]]\nname = \"okay-nabu\"",
        "[[model]]\nname = \"other\"\n[[model]]\nname = \"okay-nabu\"",
        "no-releases",
    );
}

#[test]
fn versions_are_semver() {
    let d = single(
        "version = \"1.1.0\"",
        "version = \"1.1\"",
        "invalid-version",
    );
    assert_eq!(
        line_of("version = \"1.1.0\"", "version = \"1.1\"", &d),
        "version = \"1.1\""
    );
}

#[test]
fn versions_strictly_increase() {
    let d = single(
        "version = \"1.1.0\"",
        "version = \"1.0.0\"",
        "version-order",
    );
    assert_eq!(d.related[0].label, "previous release");
}

#[test]
fn explicit_counters_strictly_increase() {
    let to = "path = \"models/a.tflite\"\ncounter = 7";
    let d = single("path = \"models/a.tflite\"", to, "counter-order");
    assert!(
        d.message.contains("default security counter 2"),
        "{}",
        d.message
    );
    assert_eq!(d.hint.as_deref(), Some("add `counter = 8` to this release"));
    single(
        "path = \"models/b.tflite\"",
        "path = \"models/b.tflite\"\ncounter = 1",
        "counter-order",
    );
}

#[test]
fn release_files_must_exist() {
    let d = single("models/b.tflite", "models/missing.tflite", "missing-file");
    assert_eq!(
        line_of("models/b.tflite", "models/missing.tflite", &d),
        "path = \"models/missing.tflite\""
    );
    single("models/b.tflite", "models", "not-a-file");
}

#[test]
fn releases_must_fit_both_slots() {
    let d = single(
        "slot-b = { offset = \"1536KiB\", size = \"512KiB\" }",
        "slot-b = { offset = \"1536KiB\", size = \"4KiB\" }",
        "release-too-large",
    );
    assert!(
        d.message
            .contains("does not fit slot-b of target `wakeword-s3-8mb` (4 KiB)"),
        "{}",
        d.message
    );
    assert_eq!(d.related.len(), 1);
}

#[test]
fn skus_are_unique() {
    let second = "[target.codec]\ndecoders = [\"stored\", \"fast\"]\n\n[[target]]\nsku = \"wakeword-s3-8mb\"\nram-buffer = 4096\nflash = { base = 0, size = \"1MiB\", erase-size = 4096, write-size = 1 }\n";
    // Two targets also need `{sku}` in `[output] rust`: both problems are reported.
    let codes: Vec<_> = problems(
        "[target.codec]\ndecoders = [\"stored\", \"fast\"]\n",
        second,
    )
    .into_iter()
    .filter(Diagnostic::is_error)
    .map(|d| d.code)
    .collect();
    assert_eq!(codes, ["needs-sku-placeholder", "duplicate-name"]);
}

#[test]
fn targets_carry_defined_models_only() {
    let d = single(
        "[target.models.okay-nabu]",
        "[target.models.okay-nabo]",
        "unknown-model",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `okay-nabu`?"));
}

#[test]
fn ram_buffer_has_a_minimum() {
    single(
        "ram-buffer = \"16KiB\"",
        "ram-buffer = 512",
        "ram-buffer-too-small",
    );
}

/// The minimum is what the decoder needing the least needs: below it nothing can work, and the
/// hint says so with the figure (1 KiB, the old minimum, is below it for every decoder).
#[test]
fn ram_buffer_minimum_is_the_least_any_decoder_needs() {
    let least = Decoder::ALL.map(Decoder::least_work_len);
    assert_eq!(Some(&crate::MIN_RAM_BUFFER), least.iter().min());
    let d = single(
        "ram-buffer = \"16KiB\"",
        "ram-buffer = \"1KiB\"",
        "ram-buffer-too-small",
    );
    let figure = crate::format_size(crate::MIN_RAM_BUFFER);
    assert!(d.message.contains(&figure), "{}", d.message);
    assert!(d.hint.as_deref().unwrap().contains(&figure), "{d:#?}");
}

#[test]
fn flash_geometry_is_consistent() {
    single(
        "erase-size = \"4KiB\"",
        "erase-size = 3000",
        "invalid-geometry",
    );
    single("write-size = 4", "write-size = 8192", "invalid-geometry");
    single("size = \"8MiB\"", "size = 8388609", "invalid-geometry");
}

#[test]
fn regions_are_erase_aligned() {
    let d = single(
        "state = { offset = \"2MiB\", size = \"8KiB\" }",
        "state = { offset = 0x200100, size = \"8KiB\" }",
        "misaligned-region",
    );
    assert!(d.hint.unwrap().contains("0x200000 or 0x201000"));
    single(
        "state = { offset = \"2MiB\", size = \"8KiB\" }",
        "state = { offset = \"2MiB\", size = 9000 }",
        "misaligned-region",
    );
}

#[test]
fn regions_lie_inside_flash() {
    single(
        "state = { offset = \"2MiB\", size = \"8KiB\" }",
        "state = { offset = \"8MiB\", size = \"8KiB\" }",
        "region-outside-flash",
    );
}

#[test]
fn regions_do_not_overlap() {
    let d = single(
        "slot-b = { offset = \"1536KiB\"",
        "slot-b = { offset = \"1280KiB\"",
        "region-overlap",
    );
    assert!(
        d.message
            .contains("`okay-nabu.slot-b` (0x140000..0x1c0000) overlaps `okay-nabu.slot-a`"),
        "{}",
        d.message
    );
}

#[test]
fn regions_are_not_empty() {
    single(
        "state = { offset = \"2MiB\", size = \"8KiB\" }",
        "state = { offset = \"2MiB\", size = 0 }",
        "empty-region",
    );
}

#[test]
fn the_state_region_spans_two_erase_blocks() {
    single(
        "state = { offset = \"2MiB\", size = \"8KiB\" }",
        "state = { offset = \"2MiB\", size = \"4KiB\" }",
        "state-too-small",
    );
}

#[test]
fn exactly_one_key_source() {
    let d = single(
        "key-file = \"keys/release.key\"",
        "key-file = \"keys/release.key\"\nkey-env = \"MALLORN_KEY\"",
        "key-source-conflict",
    );
    assert_eq!(d.related.len(), 1);
    single(
        "key-file = \"keys/release.key\"\n",
        "",
        "missing-key-source",
    );
}

#[test]
fn key_env_is_a_name_not_a_key() {
    single(
        "key-file = \"keys/release.key\"",
        "key-env = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
        "key-in-manifest",
    );
    single(
        "key-file = \"keys/release.key\"",
        "key-env = \"MY-KEY\"",
        "invalid-env-name",
    );
}

#[test]
fn trusted_keys_are_required() {
    single(
        "trusted-keys = [\"keys/release.pub\"]",
        "trusted-keys = []",
        "no-trusted-keys",
    );
    single("trusted-keys = [\"keys/release.pub\"]", "", "missing-key");
}

#[test]
fn a_missing_trusted_key_file_is_only_a_warning() {
    let dir = project();
    let loaded = load_in(
        dir.path(),
        &VALID.replace("keys/release.pub", "keys/next.pub"),
    )
    .unwrap();
    assert_eq!(loaded.warnings().len(), 1);
    assert_eq!(loaded.warnings()[0].code, "missing-trusted-key");
    assert_eq!(loaded.warnings()[0].severity, Severity::Warning);
}

#[test]
fn lossy_bounds_belong_to_models_not_the_codec() {
    let d = single(
        "effort = \"max\"",
        "mode = { lossy = { max-abs-error = 0.001 } }",
        "lossy-per-model",
    );
    assert!(d.hint.unwrap().contains("[model.lossy]"));
}

/// `mode = "lossy"` gets the same pointer, not serde's "invalid type: unit variant", and a
/// misspelt mode is told the one value that is allowed.
#[test]
fn lossy_mode_word_points_at_model_lossy() {
    let d = single("effort = \"max\"", "mode = \"lossy\"", "lossy-per-model");
    assert!(d.message.contains("[model.lossy]"), "{}", d.message);
    assert!(d.hint.unwrap().contains("[model.lossy]"));
    let d = single("effort = \"max\"", "mode = \"lossles\"", "invalid-value");
    assert!(d.message.contains("expected `lossless`"), "{}", d.message);
    assert!(!d.message.contains("lossy"), "{}", d.message);
}

/// A `key-file` that does not exist is a warning at its line (only `build` needs the private
/// key; `plan`, `build --check` and `check` run without it in CI). `key-env` is not checked.
#[test]
fn a_missing_key_file_is_reported_at_its_line() {
    let dir = project();
    std::fs::remove_file(dir.path().join("keys/release.key")).unwrap();
    let loaded = load_in(dir.path(), VALID).unwrap();
    let warnings = loaded.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let d = &warnings[0];
    assert_eq!(d.code, "missing-key-file");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(&VALID[d.span.start..d.span.end], "\"keys/release.key\"");
    assert!(
        d.hint
            .as_deref()
            .unwrap()
            .contains("cargo mallorn keygen -o keys/release.key")
    );

    let env = VALID.replacen(
        "key-file = \"keys/release.key\"",
        "key-env = \"MALLORN_SIGNING_KEY\"",
        1,
    );
    let loaded = load_in(dir.path(), &env).unwrap();
    assert!(loaded.warnings().is_empty(), "{:#?}", loaded.warnings());
}

/// `[output] templates` must name an existing directory, reported at its line.
#[test]
fn a_missing_templates_directory_is_an_error_at_its_line() {
    let d = single(
        "rust = \"src/mallorn_generated.rs\"",
        "rust = \"src/mallorn_generated.rs\"\ntemplates = \"mytpl\"",
        "missing-file",
    );
    let text = VALID.replacen(
        "rust = \"src/mallorn_generated.rs\"",
        "rust = \"src/mallorn_generated.rs\"\ntemplates = \"mytpl\"",
        1,
    );
    assert_eq!(&text[d.span.start..d.span.end], "\"mytpl\"");
    assert!(
        d.message.contains("templates directory `mytpl`"),
        "{}",
        d.message
    );

    // A file is not a directory; an existing directory is fine.
    let dir = project();
    std::fs::write(dir.path().join("mytpl"), "").unwrap();
    let errors = load_in(dir.path(), &text).unwrap_err();
    assert_eq!(
        errors.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["not-a-directory"]
    );
    std::fs::remove_file(dir.path().join("mytpl")).unwrap();
    std::fs::create_dir(dir.path().join("mytpl")).unwrap();
    load_in(dir.path(), &text).unwrap();
}

/// What one run reports, as docs/mallorn-toml.md ("Diagnostics") says: a wrong-typed value
/// stops the reading of its table (the second bad value of `[codec]` waits for the next run),
/// while unknown keys and the rules of the other tables are all reported.
#[test]
fn a_wrong_typed_value_stops_its_table_only() {
    let text = VALID
        .replacen(
            "effort = \"max\"",
            "effort = \"maximum\"\nfull-image-threshold = \"high\"",
            1,
        )
        .replacen("format = \"tflite\"", "format = \"tflite\"\nfromat = 1", 1)
        .replacen(
            "ram-buffer = \"16KiB\"",
            "ram-buffer = \"16KiB\"\ntrial-boots = 0",
            1,
        )
        .replacen("[output]", "[output]\nrsut = \"x.rs\"", 1);
    let dir = project();
    let errors = load_in(dir.path(), &text).unwrap_err();
    let codes: Vec<_> = errors.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            "unknown-key",
            "invalid-value",
            "unknown-key",
            "trial-boots-out-of-range"
        ],
        "{errors:#?}"
    );
    assert!(errors[1].message.contains("maximum"), "{:#?}", errors[1]);
}

const MODEL_HEAD: &str = "format = \"tflite\"\n";

#[test]
fn lossy_models_read_their_bounds_exclusions_and_gate() {
    let lossy = "format = \"tflite\"\n[model.lossy]\nmax-abs-error = 1e-4\nmax-steps = 2\nexclude = [\"*norm*\"]\n[[model.lossy.tensor]]\npattern = \"head.*\"\nmax-abs-error = 1e-3\n[model.gate]\ncommand = [\"python3\", \"eval.py\"]\nthreshold = 0.999\n";
    let dir = project();
    let loaded = load_in(dir.path(), &VALID.replacen(MODEL_HEAD, lossy, 1)).unwrap();
    let model = loaded.model("okay-nabu").unwrap();
    let policy = model.lossy.as_ref().unwrap();
    assert_eq!(policy.default.max_abs_error, Some(1e-4));
    assert_eq!(policy.default.max_steps, Some(2));
    assert_eq!(policy.bound_for(["head.w"]).max_abs_error, Some(1e-3));
    assert!(policy.bound_for(["a.norm"]).is_exact());
    let gate = model.gate.as_ref().unwrap();
    assert_eq!(gate.command, ["python3", "eval.py"]);
    assert_eq!(gate.threshold, 0.999);
}

#[test]
fn lossy_tables_need_usable_bounds() {
    let with = |table: &str| format!("{MODEL_HEAD}{table}");
    single(
        MODEL_HEAD,
        &with("[model.lossy]\nexclude = [\"x\"]\n"),
        "lossy-without-bound",
    );
    single(
        MODEL_HEAD,
        &with("[model.lossy]\nmax-abs-error = -1.0\n"),
        "invalid-bound",
    );
    single(
        MODEL_HEAD,
        &with("[model.lossy]\nmax-steps = 0\n"),
        "invalid-bound",
    );
    single(
        MODEL_HEAD,
        &with("[model.lossy]\nmax-steps = 1\nexclude = [\"\"]\n"),
        "empty-pattern",
    );
}

#[test]
fn a_gate_needs_a_lossy_model_a_command_and_a_threshold() {
    let gate = "[model.gate]\ncommand = [\"true\"]\nthreshold = 1.0\n";
    single(
        MODEL_HEAD,
        &format!("{MODEL_HEAD}{gate}"),
        "gate-without-lossy",
    );
    let lossy = "[model.lossy]\nmax-steps = 1\n";
    single(
        MODEL_HEAD,
        &format!("{MODEL_HEAD}{lossy}[model.gate]\ncommand = []\nthreshold = 1.0\n"),
        "invalid-gate",
    );
    single(
        MODEL_HEAD,
        &format!("{MODEL_HEAD}{lossy}[model.gate]\ncommand = [\"true\"]\n"),
        "invalid-gate",
    );
}

#[test]
fn a_lossless_target_refuses_a_lossy_model() {
    let text = VALID
        .replacen(
            MODEL_HEAD,
            &format!("{MODEL_HEAD}[model.lossy]\nmax-steps = 1\n"),
            1,
        )
        .replacen("effort = \"max\"", "mode = \"lossless\"", 1);
    let dir = project();
    let errors = load_in(dir.path(), &text).unwrap_err();
    let codes: Vec<&str> = errors
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect();
    assert_eq!(codes, ["lossy-on-lossless-target"]);
}

#[test]
fn full_image_threshold_is_a_fraction() {
    single(
        "effort = \"max\"",
        "full-image-threshold = 0.0",
        "invalid-threshold",
    );
    single(
        "effort = \"max\"",
        "full-image-threshold = 1.5",
        "invalid-threshold",
    );
}

#[test]
fn decoders_are_a_non_empty_set() {
    single(
        "decoders = [\"stored\", \"fast\"]",
        "decoders = []",
        "no-decoders",
    );
    single(
        "decoders = [\"stored\", \"fast\"]",
        "decoders = [\"fast\", \"fast\"]",
        "duplicate-decoder",
    );
}

#[test]
fn generated_files_do_not_collide() {
    single(
        "rust = \"src/mallorn_generated.rs\"",
        "rust = \"gen.h\"\nc-header = \"gen.h\"",
        "output-collision",
    );
}

#[test]
fn paths_are_not_empty() {
    single(
        "rust = \"src/mallorn_generated.rs\"",
        "rust = \"\"",
        "empty-path",
    );
}

#[test]
fn bad_values_name_the_problem_and_suggest() {
    let d = single(
        "ram-buffer = \"16KiB\"",
        "ram-buffer = \"16KB\"",
        "invalid-value",
    );
    assert_eq!(d.message, "invalid size `16KB`: unknown unit `KB`");
    assert!(d.hint.unwrap().contains("`KiB`"));
    let d = single("format = \"tflite\"", "format = \"tflit\"", "invalid-value");
    assert_eq!(d.hint.as_deref(), Some("did you mean `tflite`?"));
    let d = single("[[target]]", "[target]", "invalid-value");
    assert!(d.hint.unwrap().contains("[[target]]"));
}

#[test]
fn a_type_error_in_one_section_does_not_hide_others() {
    let text = VALID
        .replacen("write-size = 4", "write-size = true", 1)
        .replacen("models/b.tflite", "models/missing.tflite", 1)
        .replacen("effort = \"max\"", "efort = \"max\"", 1);
    let dir = project();
    let codes: Vec<_> = load_in(dir.path(), &text)
        .unwrap_err()
        .iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(codes, vec!["missing-file", "unknown-key", "invalid-value"]);
}

#[test]
fn an_empty_manifest_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_in(dir.path(), "schema-version = 1\n").unwrap();
    assert!(loaded.models.is_empty() && loaded.targets.is_empty() && loaded.signing.is_none());
    assert_eq!(loaded.codec, crate::CodecPolicy::default());
}

#[test]
fn overlaps_are_found_across_the_models_of_a_target() {
    let second_model = "[codec]";
    let with_model = "[[model]]\nname = \"vad\"\n[[model.release]]\nversion = \"0.1.0\"\npath = \"models/a.tflite\"\n\n[codec]";
    let layout = "[target.codec]";
    let with_layout = "[target.models.vad]\nslot-a = { offset = \"2052KiB\", size = \"8KiB\" }\nslot-b = { offset = \"3MiB\", size = \"8KiB\" }\nstate = { offset = \"1MiB\", size = \"8KiB\" }\n[target.codec]";
    let text = VALID
        .replacen(second_model, with_model, 1)
        .replacen(layout, with_layout, 1);
    let dir = project();
    let problems = load_in(dir.path(), &text).unwrap_err();
    let messages: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`vad.slot-a` (0x201000..0x203000) overlaps `okay-nabu.state` (0x200000..0x202000)",
            "`vad.state` (0x100000..0x102000) overlaps `okay-nabu.slot-a` (0x100000..0x180000)",
        ]
    );
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let huge = " ".repeat(usize::try_from(crate::MAX_MANIFEST_SIZE).unwrap() + 1);
    let path = dir.path().join("Mallorn.toml");
    std::fs::write(&path, &huge).unwrap();
    assert!(matches!(
        Manifest::load(&path),
        Err(ManifestError::TooLarge { .. })
    ));
}

mod robustness {
    //! Mutated manifests never panic, and every span they produce lies inside the text.

    use proptest::prelude::*;

    use super::{VALID, project};
    use crate::{Manifest, ManifestError};

    #[derive(Debug, Clone)]
    enum Edit {
        Delete(usize, usize),
        Insert(usize, String),
        DuplicateLine(usize),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (0..VALID.len(), 1..12usize).prop_map(|(at, len)| Edit::Delete(at, len)),
            (0..VALID.len(), "[\\[\\]{}=,.\"#0-9a-zA-Z_ -]{1,8}|\n")
                .prop_map(|(at, s)| Edit::Insert(at, s)),
            (0..40usize).prop_map(Edit::DuplicateLine),
        ]
    }

    fn apply(text: &str, edit: &Edit) -> String {
        let clamp = |at: usize| {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        match edit {
            Edit::Delete(at, len) => {
                let (start, end) = (clamp(*at), clamp(at + len));
                format!("{}{}", &text[..start], &text[end..])
            }
            Edit::Insert(at, inserted) => {
                let at = clamp(*at);
                format!("{}{inserted}{}", &text[..at], &text[at..])
            }
            Edit::DuplicateLine(line) => {
                let mut lines: Vec<&str> = text.lines().collect();
                if let Some(copy) = lines.get(*line % lines.len().max(1)).copied() {
                    lines.insert(*line % lines.len(), copy);
                }
                lines.join("\n")
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn mutated_manifests_give_diagnostics_not_panics(edits in proptest::collection::vec(edit(), 1..6)) {
            let dir = project();
            let text = edits.iter().fold(VALID.to_owned(), |text, edit| apply(&text, edit));
            match Manifest::load_from_str(dir.path().join("Mallorn.toml"), text.clone()) {
                Ok(loaded) => prop_assert!(!loaded.warnings().has_errors()),
                Err(ManifestError::Invalid(invalid)) => {
                    prop_assert!(invalid.diagnostics.has_errors());
                    for diagnostic in invalid.diagnostics.iter() {
                        prop_assert!(diagnostic.span.end <= text.len(), "{diagnostic:?}");
                        for related in &diagnostic.related {
                            prop_assert!(related.span.end <= text.len());
                        }
                    }
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }
}

// Rules `plan` and `build` apply are checked here too, so `cargo mallorn check` never calls
// valid what they refuse (issue 14).

#[test]
fn several_targets_need_sku_in_generated_paths() {
    let second = VALID.replace("sku = \"wakeword-s3-8mb\"", "sku = \"wakeword-m4\"");
    let second = &second[second.find("[[target]]").unwrap()..];
    let d = single(
        "decoders = [\"stored\", \"fast\"]\n",
        &format!("decoders = [\"stored\", \"fast\"]\n\n{second}"),
        "needs-sku-placeholder",
    );
    let text = VALID.replacen(
        "decoders = [\"stored\", \"fast\"]\n",
        &format!("decoders = [\"stored\", \"fast\"]\n\n{second}"),
        1,
    );
    assert_eq!(
        &text[d.span.start..d.span.end],
        "\"src/mallorn_generated.rs\""
    );
}

#[test]
fn some_allowed_decoder_must_fit_ram_buffer() {
    let text = VALID.replacen(
        "decoders = [\"stored\", \"fast\"]",
        "decoders = [\"smallest\"]",
        1,
    );
    let text = text.replacen("ram-buffer = \"16KiB\"", "ram-buffer = \"2KiB\"", 1);
    let dir = project();
    let errors = load_in(dir.path(), &text).unwrap_err();
    let codes: Vec<_> = errors.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["no-decoder-fits"], "{errors:#?}");
    let d = &errors[0];
    assert!(d.message.contains("smallest needs"), "{}", d.message);
    assert_eq!(&text[d.span.start..d.span.end], "\"2KiB\"");
    // The hint gives the figures: what "smallest" needs, and that "stored" would fit.
    let hint = d.hint.as_deref().unwrap();
    let smallest = crate::format_size(Decoder::Smallest.least_work_len());
    assert!(
        hint.contains(&format!("raise `ram-buffer` to at least {smallest}")),
        "{hint}"
    );
    assert!(hint.contains("allow \"stored\""), "{hint}");
}

#[test]
fn flash_the_runtime_cannot_address_is_refused() {
    single("size = \"8MiB\"", "size = \"8GiB\"", "invalid-geometry");
    single(
        "erase-size = \"4KiB\"",
        "erase-size = 32",
        "invalid-geometry",
    );
    single("sku = \"wakeword-s3-8mb\"", "sku = \"..\"", "invalid-name");
}

/// `check` accepts a flash layout exactly when the device's `FlashLayout::validate` (which the
/// generated include runs at compile time) does: one rule, in the runtime.
#[test]
fn layout_verdict_agrees_with_the_device() {
    use mallorn_runtime::storage::{FlashLayout, Region};
    let dir = project();
    let kib = 1024u32;
    let mut disagreements = Vec::new();
    for erase in [64u32, 256, 4096] {
        for write in [1u32, 4, 256, 512] {
            for state_len in [128u32, 256, 512, 8 * kib] {
                for state_offset in [2048 * kib, 2048 * kib + 64, 1984 * kib] {
                    let text = VALID
                        .replace("erase-size = \"4KiB\"", &format!("erase-size = {erase}"))
                        .replace("write-size = 4", &format!("write-size = {write}"))
                        .replace(
                            "state = { offset = \"2MiB\", size = \"8KiB\" }",
                            &format!("state = {{ offset = {state_offset}, size = {state_len} }}"),
                        );
                    let manifest_ok = load_in(dir.path(), &text).is_ok();
                    let layout = FlashLayout::new(
                        Region::new(1024 * kib, 512 * kib),
                        Region::new(1536 * kib, 512 * kib),
                        Region::new(state_offset, state_len),
                    );
                    let device_ok = layout
                        .validate(erase as usize, write as usize, 1, 8 * 1024 * kib as usize)
                        .is_ok();
                    if manifest_ok != device_ok {
                        disagreements.push((erase, write, state_len, state_offset, manifest_ok));
                    }
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:?}");
}

#[test]
fn a_state_region_holds_two_journal_banks_of_whole_records() {
    // 64-byte erase blocks: one 208-byte journal record spans four of them, so two erase
    // blocks are not two banks.
    let block = "erase-size = \"4KiB\"\nwrite-size = 4\n[target.models.okay-nabu]\n\
                 slot-a = { offset = \"1MiB\", size = \"512KiB\" }\n\
                 slot-b = { offset = \"1536KiB\", size = \"512KiB\" }\n\
                 state = { offset = \"2MiB\", size = \"8KiB\" }";
    let d = single(
        block,
        &block
            .replace("\"4KiB\"", "64")
            .replace("size = \"8KiB\"", "size = 128"),
        "state-too-small",
    );
    assert!(d.message.contains("512 bytes"), "{}", d.message);
}

#[test]
fn a_typo_in_a_target_does_not_hide_its_layout_problems() {
    let text = VALID
        .replace("ram-buffer = \"16KiB\"", "ram-buffer = \"16KB-oops\"")
        .replace(
            "slot-b = { offset = \"1536KiB\"",
            "slot-b = { offset = \"1280KiB\"",
        );
    let dir = project();
    let codes: Vec<&str> = load_in(dir.path(), &text)
        .expect_err("manifest should be invalid")
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect();
    assert_eq!(codes, ["invalid-value", "region-overlap"], "{codes:?}");
}

#[test]
fn a_pinned_shipped_image_needs_a_lossy_model_and_a_file() {
    let pinned = "path = \"models/b.tflite\"\nshipped = \"models/a.tflite\"";
    single(
        "path = \"models/b.tflite\"",
        pinned,
        "shipped-without-lossy",
    );
    let lossy = format!("{MODEL_HEAD}[model.lossy]\nmax-steps = 1\n");
    let dir = project();
    let text = VALID.replacen(MODEL_HEAD, &lossy, 1);
    let loaded = load_in(
        dir.path(),
        &text.replacen("path = \"models/b.tflite\"", pinned, 1),
    )
    .unwrap();
    let release = &loaded.model("okay-nabu").unwrap().releases[1];
    assert_eq!(release.shipped.as_ref().unwrap().written, "models/a.tflite");
    let missing = text.replacen(
        "path = \"models/b.tflite\"",
        "path = \"models/b.tflite\"\nshipped = \"models/gone.tflite\"",
        1,
    );
    let errors = load_in(dir.path(), &missing).unwrap_err();
    let error = errors.iter().find(|d| d.is_error()).unwrap();
    assert_eq!(error.code, "missing-file");
    assert!(
        error
            .message
            .contains("shipped image file `models/gone.tflite`"),
        "{}",
        error.message
    );
}

/// docs/mallorn-toml.md states the minimum `ram-buffer` and lists every diagnostic code that
/// validation can report.
#[test]
fn docs_state_the_minimum_ram_buffer_and_every_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../docs/mallorn-toml.md")).unwrap();
    let minimum = format!("at least {} bytes", crate::MIN_RAM_BUFFER);
    assert!(
        doc.contains(&minimum),
        "docs/mallorn-toml.md must say {minimum:?}"
    );
    let schema = crate::json_schema().to_string();
    assert!(schema.contains(&minimum), "the schema must say {minimum:?}");

    let start = doc.find("\nCodes: ").expect("the list of codes");
    let end = doc[start..].find("\n\n").map_or(doc.len(), |n| start + n);
    let listed = &doc[start..end];
    let mut missing = Vec::new();
    let mut files = vec![root.join("src")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.file_name().is_some_and(|name| name == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Production code only: test modules make up codes of their own.
        let text = text.split("#[cfg(test)]").next().unwrap();
        for call in ["Diagnostic::error(", "Diagnostic::warning("] {
            for (at, _) in text.match_indices(call) {
                let rest = text[at + call.len()..].trim_start();
                let Some(quoted) = rest.strip_prefix('"') else {
                    continue;
                };
                let code = &quoted[..quoted.find('"').unwrap()];
                if !listed.contains(&format!("`{code}`")) {
                    missing.push(code.to_owned());
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "codes missing from the list in docs/mallorn-toml.md: {missing:?}"
    );
}
