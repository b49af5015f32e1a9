//! `cargo mallorn keygen` and `cargo mallorn verify` as a user runs them: key files with the
//! right modes that are never overwritten, and a verify that accepts the genuine bundle,
//! refuses each kind of bad one with exit 1 and a clear message, and writes nothing.

use std::path::Path;

use mallorn_engine::bundle::{BundleIdentity, PayloadBuilder};
use mallorn_engine::signing::{KeySource, sign_bundle};
use mallorn_runtime::format::{ModelVersion, SIGNED_BUNDLE_PREFIX, model_id, sku_id};

mod common;

use common::mallorn_output as mallorn;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn keygen_writes_a_private_0600_key_and_its_public_key_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = mallorn(dir.path(), &["keygen", "-o", "release.pem"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let private = std::fs::read_to_string(dir.path().join("release.pem")).unwrap();
    let public = std::fs::read_to_string(dir.path().join("release.pem.pub")).unwrap();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(
        stdout.contains(&public),
        "stdout shows the public PEM:\n{stdout}"
    );
    let private_body = private.lines().nth(1).unwrap();
    assert!(!stdout.contains(private_body) && !text(&out.stderr).contains(private_body));

    let key = KeySource::File(dir.path().join("release.pem"))
        .load()
        .unwrap();
    let key_id = mallorn_engine::signing::hex(&key.key_id());
    assert!(
        stdout.contains(&format!("key id      {key_id}")),
        "{stdout}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("release.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let before = mallorn_tests::tree(dir.path());
    let again = mallorn(dir.path(), &["keygen", "-o", "release.pem"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already exists"));
    assert_eq!(
        mallorn_tests::tree(dir.path()),
        before,
        "an existing key was touched"
    );

    // A leftover public key also blocks, and no private key appears.
    std::fs::write(dir.path().join("next.pem.pub"), "old").unwrap();
    let blocked = mallorn(dir.path(), &["keygen", "-o", "next.pem"]);
    assert_eq!(blocked.status.code(), Some(1));
    assert!(!dir.path().join("next.pem").exists());

    let json = mallorn(
        dir.path(),
        &["keygen", "-o", "json.pem", "--message-format", "json"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["key_id"].as_str().unwrap().len(), 16);
}

/// Writes an old and new model and a bundle between them signed by `key_file` (or unsigned).
fn write_bundle(dir: &Path, name: &str, key_file: Option<&str>, sku: &str, counter: u64) {
    let old: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut new = old.clone();
    new.extend_from_slice(b"the next release");
    std::fs::write(dir.join("old.bin"), &old).unwrap();
    std::fs::write(dir.join("new.bin"), &new).unwrap();
    let identity = BundleIdentity {
        model_id: model_id("kws"),
        sku_id: sku_id(sku),
        from_version: ModelVersion::new(1, 0, 0),
        to_version: ModelVersion::new(1, 1, 0),
        security_counter: counter,
        error_bound: None,
    };
    let mut payload = PayloadBuilder::new(10);
    payload.push_stored(&new);
    let (_, unsigned) = payload.unsigned_bundle(&identity, Some(&old), &new);
    let bundle = match key_file {
        Some(file) => {
            let key = KeySource::File(dir.join(file)).load().unwrap();
            sign_bundle(&unsigned, &key).unwrap()
        }
        None => unsigned,
    };
    std::fs::write(dir.join(name), bundle).unwrap();
}

#[test]
fn verify_accepts_the_genuine_bundle_and_refuses_each_bad_one_writing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for key in ["a.pem", "b.pem", "stranger.pem"] {
        assert!(mallorn(d, &["keygen", "-o", key]).status.success());
    }
    write_bundle(d, "good.mlrn", Some("a.pem"), "board-a", 3);
    write_bundle(d, "rotated.mlrn", Some("b.pem"), "board-a", 3);
    write_bundle(d, "stranger.mlrn", Some("stranger.pem"), "board-a", 3);
    write_bundle(d, "other-sku.mlrn", Some("a.pem"), "board-b", 3);
    write_bundle(d, "unsigned.mlrn", None, "board-a", 3);
    let mut flipped = std::fs::read(d.join("good.mlrn")).unwrap();
    flipped[70] ^= 1; // the security counter, covered by the signature
    std::fs::write(d.join("flipped.mlrn"), &flipped).unwrap();
    let mut cut = std::fs::read(d.join("good.mlrn")).unwrap();
    cut.truncate(SIGNED_BUNDLE_PREFIX + 100);
    std::fs::write(d.join("cut.mlrn"), &cut).unwrap();

    let keys = ["--public-key", "a.pem.pub", "--public-key", "b.pem.pub"];
    let device = [
        "--sku",
        "board-a",
        "--model",
        "kws",
        "--committed-counter",
        "2",
    ];
    let verify = |bundle: &str, extra: &[&str]| {
        let mut args = vec!["verify", bundle];
        args.extend_from_slice(&keys);
        args.extend_from_slice(extra);
        let before = mallorn_tests::tree(d);
        let out = mallorn(d, &args);
        assert_eq!(
            mallorn_tests::tree(d),
            before,
            "verify {bundle} {extra:?} changed files"
        );
        out
    };

    for good in ["good.mlrn", "rotated.mlrn"] {
        let mut extra = vec!["--base", "old.bin"];
        extra.extend_from_slice(&device);
        let out = verify(good, &extra);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{good}: {}", text(&out.stderr));
        assert!(stdout.ends_with("OK\n"), "{stdout}");
        assert!(
            stdout.contains("(trusted)") && stdout.contains("checked"),
            "{stdout}"
        );
    }
    let out = verify("good.mlrn", &[]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("not checked: pass --base OLD"));

    let refusals: [(&str, Vec<&str>, &str); 10] = [
        ("stranger.mlrn", vec![], "not a trusted key"),
        ("other-sku.mlrn", device.to_vec(), "is for SKU id"),
        ("good.mlrn", vec!["--model", "vad"], "is for model id"),
        (
            "good.mlrn",
            vec!["--committed-counter", "3"],
            "not above the committed counter 3",
        ),
        (
            "good.mlrn",
            vec!["--committed-counter", "9"],
            "not above the committed counter 9",
        ),
        (
            "good.mlrn",
            vec!["--base", "new.bin"],
            "not the one this bundle was built from",
        ),
        ("flipped.mlrn", vec![], "signature does not verify"),
        ("unsigned.mlrn", vec![], "unsigned"),
        ("cut.mlrn", vec![], "payload ended"),
        ("missing.mlrn", vec![], "cannot read bundle"),
    ];
    for (bundle, extra, message) in refusals {
        let out = verify(bundle, &extra);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bundle} {extra:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{bundle}: refusals print no data");
        assert!(
            stderr
                .replace(['\n', '│', ' '], "")
                .contains(&message.replace(' ', "")),
            "{bundle} {extra:?}: expected {message:?} in\n{stderr}"
        );
    }

    let out = verify("unsigned.mlrn", &["--allow-unsigned"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("unsigned, allowed by --allow-unsigned"));

    let out = verify(
        "good.mlrn",
        &["--message-format", "json", "--base", "old.bin"],
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["ok"], true);
    assert_eq!(value["security_counter"], 3);
    assert_eq!(value["base_checked"], true);
}
