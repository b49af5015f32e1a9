//! `cargo mallorn diff`, `apply` and `inspect BUNDLE` as a user runs them: keygen -> diff ->
//! verify -> apply reproduces NEW; refusals (wrong base, truncated or flipped bundle, no key)
//! exit non-zero with a clear message and leave no output file.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::mallorn_output as mallorn;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A model and a modified copy (a few changed weights and a shifted tail), in a temp dir.
fn models() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mallorn-engine/tests/fixtures/tflm-micro-speech/micro_speech.tflite");
    let old = std::fs::read(fixture).unwrap();
    let mut new = old.clone();
    for i in (2000..6000).step_by(97) {
        new[i] = new[i].wrapping_add(1);
    }
    new.extend_from_slice(b"appended tail");
    let old_path = dir.path().join("old.tflite");
    let new_path = dir.path().join("new.tflite");
    std::fs::write(&old_path, &old).unwrap();
    std::fs::write(&new_path, &new).unwrap();
    assert!(
        mallorn(dir.path(), &["keygen", "-o", "dev.key"])
            .status
            .success()
    );
    (dir, old_path, new_path)
}

#[test]
fn keygen_diff_verify_apply_reproduces_new() {
    let (dir, old, new) = models();
    let d = dir.path();
    let out = mallorn(
        d,
        &[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "-o",
            "b.mlrn",
            "--key",
            "dev.key",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("signed by key"), "{}", stderr(&out));
    let out = mallorn(
        d,
        &[
            "verify",
            "b.mlrn",
            "--public-key",
            "dev.key.pub",
            "--base",
            old.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = mallorn(
        d,
        &[
            "apply",
            old.to_str().unwrap(),
            "b.mlrn",
            "-o",
            "result.tflite",
            "--public-key",
            "dev.key.pub",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(d.join("result.tflite")).unwrap(),
        std::fs::read(&new).unwrap()
    );
    // A small change costs a small bundle.
    let bundle = std::fs::metadata(d.join("b.mlrn")).unwrap().len();
    assert!(bundle < 1000, "{bundle} bytes");
}

#[test]
fn refusals_leave_no_output() {
    let (dir, old, new) = models();
    let d = dir.path();
    assert!(
        mallorn(
            d,
            &[
                "diff",
                old.to_str().unwrap(),
                new.to_str().unwrap(),
                "-o",
                "b.mlrn",
                "--key",
                "dev.key"
            ]
        )
        .status
        .success()
    );
    let bundle = std::fs::read(d.join("b.mlrn")).unwrap();

    // The wrong base.
    let out = mallorn(
        d,
        &[
            "apply",
            new.to_str().unwrap(),
            "b.mlrn",
            "-o",
            "out1",
            "--public-key",
            "dev.key.pub",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("base"), "{}", stderr(&out));
    assert!(!d.join("out1").exists());

    // Truncated, and one payload bit flipped.
    std::fs::write(d.join("short.mlrn"), &bundle[..bundle.len() - 10]).unwrap();
    let mut flipped = bundle.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x10;
    std::fs::write(d.join("flipped.mlrn"), &flipped).unwrap();
    for (name, output) in [("short.mlrn", "out2"), ("flipped.mlrn", "out3")] {
        let out = mallorn(
            d,
            &[
                "apply",
                old.to_str().unwrap(),
                name,
                "-o",
                output,
                "--public-key",
                "dev.key.pub",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{output} was not changed")),
            "{}",
            stderr(&out)
        );
        assert!(!d.join(output).exists(), "{name} left {output}");
        for leftover in [".mallorn-partial", ".mallorn-resume"] {
            let path = d.join(format!("{output}{leftover}"));
            assert!(!path.exists(), "{name} left {}", path.display());
        }
    }

    // No trusted key given: a usage error.
    let out = mallorn(d, &["apply", old.to_str().unwrap(), "b.mlrn", "-o", "out4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.join("out4").exists());

    // No signing key: diff refuses unless --unsigned.
    let out = mallorn(
        d,
        &[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "-o",
            "u.mlrn",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--unsigned"), "{}", stderr(&out));
    assert!(!d.join("u.mlrn").exists());
    let out = mallorn(
        d,
        &[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "-o",
            "u.mlrn",
            "--unsigned",
        ],
    );
    assert!(out.status.success());
    let out = mallorn(
        d,
        &[
            "apply",
            old.to_str().unwrap(),
            "u.mlrn",
            "-o",
            "out5",
            "--public-key",
            "dev.key.pub",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unsigned bundle needs --allow-unsigned"
    );
    assert!(!d.join("out5").exists());
    let out = mallorn(
        d,
        &[
            "apply",
            old.to_str().unwrap(),
            "u.mlrn",
            "-o",
            "out5",
            "--allow-unsigned",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // A RAM budget no allowed decoder fits is refused up front.
    let out = mallorn(
        d,
        &[
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "-o",
            "tiny.mlrn",
            "--key",
            "dev.key",
            "--buffer-limit",
            "1KiB",
            "--decoders",
            "smallest",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!d.join("tiny.mlrn").exists());
}

#[test]
fn inspect_shows_header_operations_and_tensors() {
    let (dir, old, new) = models();
    let d = dir.path();
    assert!(
        mallorn(
            d,
            &[
                "diff",
                old.to_str().unwrap(),
                new.to_str().unwrap(),
                "-o",
                "b.mlrn",
                "--key",
                "dev.key",
                "--buffer-limit",
                "4KiB"
            ]
        )
        .status
        .success()
    );
    let out = mallorn(d, &["inspect", "b.mlrn", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["kind"], "bundle");
    assert_eq!(
        report["coder_profile"], 0,
        "a 4 KiB budget only fits the Tiny profile"
    );
    assert!(report["operations"].is_null(), "no base given: no decoding");
    let out = mallorn(
        d,
        &[
            "inspect",
            "b.mlrn",
            "--json",
            "--base",
            old.to_str().unwrap(),
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ops = report["operations"].as_object().unwrap();
    let total: u64 = ops
        .values()
        .map(|k| k["output_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(total, std::fs::metadata(&new).unwrap().len());
    assert!(report["tensors"].as_array().unwrap().len() > 1);
    let human = mallorn(d, &["inspect", "b.mlrn", "--base", old.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("operation") && text.contains("tensor (most payload first)"),
        "{text}"
    );
    let version = &report["format_version"];
    assert!(version.as_u64().is_some(), "{report}");
    assert!(
        text.starts_with(&format!("b.mlrn: Mallorn bundle, format {version}, ")),
        "the human header names the version --json reports: {text}"
    );
}

/// `diff` on a file that is no recognisable model (a truncated ONNX file) with the default
/// `--format auto`: the help speaks of `--format`, not of Mallorn.toml, which diff does not read.
#[test]
fn diff_of_an_unrecognised_file_gets_help_in_flag_terms() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let onnx = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/parse_onnx/synthetic.onnx"),
    )
    .unwrap();
    std::fs::write(d.join("full.onnx"), &onnx).unwrap();
    std::fs::write(d.join("cut.onnx"), &onnx[..onnx.len() / 2]).unwrap();
    let out = mallorn(
        d,
        &[
            "diff",
            "full.onnx",
            "cut.onnx",
            "-o",
            "b.mlrn",
            "--unsigned",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let shown = stderr(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(shown.contains("truncated or damaged"), "{shown}");
    // The file is named as the user gave it.
    assert!(shown.contains("cut.onnx: "), "{shown}");
    assert!(shown.contains("`--format onnx`"), "{shown}");
    assert!(
        !shown.contains("[[model]]"),
        "diff reads no Mallorn.toml: {shown}"
    );
    assert!(!d.join("b.mlrn").exists());
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `diff` binds what `build` binds, says what it chose (defaults marked), and the bundle
/// passes `verify` for exactly that model and SKU.
#[test]
fn diff_takes_builds_choices_and_reports_them() {
    let (dir, old, new) = models();
    let d = dir.path();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = mallorn(
        d,
        &[
            "diff",
            old,
            new,
            "-o",
            "b.mlrn",
            "--key",
            "dev.key",
            "--model",
            "okay-nabu",
            "--sku",
            "board-2",
            "--from-version",
            "1.0.0",
            "--to-version",
            "1.1.0",
            "--counter",
            "7",
            "--decoders",
            "stored,smallest",
            "--profile",
            "compact",
        ],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "model \"okay-nabu\", SKU \"board-2\", versions 1.0.0 -> 1.1.0, security counter 7"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "decoders allowed stored, smallest; coded with smallest, profile compact (as given)"
        ),
        "{err}"
    );
    assert!(err.contains("work RAM "), "{err}");
    let out = mallorn(
        d,
        &[
            "verify",
            "b.mlrn",
            "--public-key",
            "dev.key.pub",
            "--model",
            "okay-nabu",
            "--sku",
            "board-2",
            "--committed-counter",
            "6",
            "--message-format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["from_version"], "1.0.0");
    assert_eq!(v["to_version"], "1.1.0");
    assert_eq!(v["security_counter"], 7);
    assert_eq!(v["coder_profile"], 1);

    // Without the flags: the defaults, printed as such.
    let out = mallorn(d, &["diff", old, new, "-o", "c.mlrn", "--unsigned"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("model \"model\" (default), SKU \"default\" (default), versions 0.0.0 (default) -> 0.0.1 (default), security counter 1 (default)"),
        "{err}"
    );
    assert!(
        err.contains("decoders allowed stored, fast, smallest (default); coded with smallest, profile large (largest that fits 64 KiB)"),
        "{err}"
    );
}

#[test]
fn diff_explains_a_buffer_limit_too_small_and_bad_names() {
    let (dir, old, new) = models();
    let d = dir.path();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let base = ["diff", old, new, "-o", "b.mlrn", "--key", "dev.key"];
    let run = |extra: &[&str]| mallorn(d, &[&base[..], extra].concat());

    // Only the smallest decoder allowed, and 2 KiB: the hint is about the RAM, not erase size.
    let out = run(&["--buffer-limit", "2KiB", "--decoders", "smallest"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--buffer-limit"), "{err}");
    assert!(!err.contains("--erase-size"), "{err}");
    assert!(!d.join("b.mlrn").exists());
    // With every decoder allowed, 2 KiB is enough for the fast one, as in `build`.
    let out = run(&["--buffer-limit", "2KiB"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("coded with fast"), "{}", stderr(&out));
    std::fs::remove_file(d.join("b.mlrn")).unwrap();

    for (flags, says) in [
        (&["--model", "Okay Nabu"][..], "not a valid model name"),
        (&["--sku", "my board"][..], "not a valid SKU"),
        (&["--to-version", "1.2"][..], "--to-version"),
        (&["--counter", "ten"][..], "--counter"),
        (
            &["--profile", "large", "--buffer-limit", "16KiB"][..],
            "--profile large needs",
        ),
    ] {
        let out = run(flags);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{flags:?}: {}", stderr(&out));
        assert!(!d.join("b.mlrn").exists());
    }
}

/// Errors name the user's file once, never a temporary file; a new output is "created".
#[test]
fn apply_names_the_users_file_once_and_says_created() {
    let (dir, old, new) = models();
    let d = dir.path();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = mallorn(d, &["diff", old, new, "-o", "b.mlrn", "--key", "dev.key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(d.join("a-file"), b"").unwrap();
    let apply = |output: &str| {
        mallorn(
            d,
            &[
                "apply",
                old,
                "b.mlrn",
                "-o",
                output,
                "--public-key",
                "dev.key.pub",
            ],
        )
    };
    let out = apply("a-file/new.tflite");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write a-file/new.tflite"), "{err}");
    assert!(!err.contains(".mallorn-tmp"), "{err}");
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");

    let out = mallorn(
        d,
        &["diff", old, new, "-o", "a-file/b.mlrn", "--key", "dev.key"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("a-file/b.mlrn") && !err.contains(".mallorn-tmp"),
        "{err}"
    );

    let out = apply("out.tflite");
    assert!(
        stderr(&out).starts_with("created out.tflite"),
        "{}",
        stderr(&out)
    );
    let out = apply("out.tflite");
    assert!(
        stderr(&out).starts_with("replaced out.tflite"),
        "{}",
        stderr(&out)
    );
}

/// `inspect` does not call an altered bundle signed: it names the claimed key as not
/// verified, and with --public-key verifies it (and refuses the altered one).
#[test]
fn inspect_verifies_signatures_only_with_a_public_key() {
    let (dir, old, new) = models();
    let d = dir.path();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = mallorn(d, &["diff", old, new, "-o", "b.mlrn", "--key", "dev.key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut forged = std::fs::read(d.join("b.mlrn")).unwrap();
    forged[100] ^= 1; // inside the signature
    std::fs::write(d.join("forged.mlrn"), &forged).unwrap();

    let out = mallorn(d, &["inspect", "forged.mlrn"]);
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(shown.contains(", not verified"), "{shown}");
    assert!(!shown.contains("signed            yes"), "{shown}");
    let out = mallorn(d, &["inspect", "forged.mlrn", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signature"], "not_verified");

    let out = mallorn(
        d,
        &["inspect", "forged.mlrn", "--public-key", "dev.key.pub"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(stderr(&out).contains("signature"), "{}", stderr(&out));
    let out = mallorn(d, &["inspect", "b.mlrn", "--public-key", "dev.key.pub"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text(&out.stdout).contains(", verified"),
        "{}",
        text(&out.stdout)
    );
}

/// One header view: `inspect --json` and `verify --message-format json` show the same header
/// fields with the same names and values; decoders and flags are arrays; operation names are
/// identifiers.
#[test]
fn inspect_and_verify_share_one_json_header() {
    let (dir, old, new) = models();
    let d = dir.path();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let out = mallorn(d, &["diff", old, new, "-o", "b.mlrn", "--key", "dev.key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = mallorn(d, &["inspect", "b.mlrn", "--json", "--base", old]);
    let inspect: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = mallorn(
        d,
        &[
            "verify",
            "b.mlrn",
            "--public-key",
            "dev.key.pub",
            "--message-format",
            "json",
        ],
    );
    let verify: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "format_version",
        "flags",
        "decoders",
        "coder_profile",
        "chunk_align",
        "key_id",
        "model_id",
        "sku_id",
        "from_version",
        "to_version",
        "security_counter",
        "base_len",
        "base_sha256",
        "result_len",
        "result_sha256",
        "payload_len",
        "payload_sha256",
        "ram_required",
        "error_bound_bits",
    ] {
        assert!(!inspect[field].is_null(), "inspect lacks {field}");
        assert_eq!(inspect[field], verify[field], "{field}");
    }
    assert!(inspect["decoders"].is_array(), "{}", inspect["decoders"]);
    assert_eq!(inspect["flags"], serde_json::json!(["lossless"]));
    for name in inspect["operations"].as_object().unwrap().keys() {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "operation name {name:?} is not an identifier"
        );
    }
}
