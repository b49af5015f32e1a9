//! `cargo mallorn apply` after a run that was killed mid-way: the same command resumes from the
//! last durable record (it says so), ends with NEW byte-exact, and the output path held the old
//! file until then.

use mallorn_engine::bundle::BundleIdentity;
use mallorn_files::{FileApplyOptions, apply_to_file};
use mallorn_runtime::format::{BundleHeader, HEADER_LEN};

mod common;

use common::mallorn_output as mallorn;

#[test]
fn apply_resumes_what_a_killed_run_left() {
    let old = mallorn_tests::synthetic_model(300_000, 3);
    let mut new = old.clone();
    for (i, byte) in new.iter_mut().enumerate().step_by(7) {
        *byte ^= (i as u8) | 1;
    }
    let bundle = mallorn_tests::raw_delta_bundle(&old, &new, BundleIdentity::default(), 4096);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("old.bin"), &old).unwrap();
    std::fs::write(d.join("b.mlrn"), &bundle).unwrap();
    std::fs::write(d.join("new.bin"), b"the running model").unwrap();

    // What a run killed after about 60 % leaves: the partial result and its resume record.
    let header = BundleHeader::parse(bundle[..HEADER_LEN].try_into().unwrap()).unwrap();
    let options = FileApplyOptions {
        checkpoint_every: 32 << 10,
    };
    let cut = &bundle[..bundle.len() * 3 / 5];
    apply_to_file(cut, &header, &old, &d.join("new.bin"), &options).unwrap_err();
    assert!(d.join("new.bin.mallorn-resume").exists());
    assert_eq!(
        std::fs::read(d.join("new.bin")).unwrap(),
        b"the running model"
    );

    let out = mallorn(
        d,
        &[
            "apply",
            "old.bin",
            "b.mlrn",
            "-o",
            "new.bin",
            "--allow-unsigned",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("replaced new.bin"), "{stderr}");
    assert!(stderr.contains(", resumed at byte "), "{stderr}");
    assert_eq!(std::fs::read(d.join("new.bin")).unwrap(), new);
    assert!(!d.join("new.bin.mallorn-partial").exists());
    assert!(!d.join("new.bin.mallorn-resume").exists());
}
