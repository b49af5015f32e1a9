//! Applying to files, interrupted and resumed (`mallorn_files::apply_to_file`, what
//! `cargo mallorn apply` and Linux devices use): a run cut short resumes from its last durable
//! record and ends byte-exact, whatever a killed run left after that record; the output path
//! only ever holds the old file or the checked result; a damaged partial result is refused
//! and discarded; a record of another bundle is ignored.

use std::path::Path;

use mallorn_engine::bundle::BundleIdentity;
use mallorn_files::{FileApplyError, FileApplyOptions, apply_to_file};
use mallorn_runtime::Error;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNED_BUNDLE_PREFIX};
use mallorn_tests::{raw_delta_bundle, synthetic_model};

/// A record every 16 KiB of result: many records over these models.
const OPTIONS: FileApplyOptions = FileApplyOptions {
    checkpoint_every: 16 << 10,
};

struct Pair {
    old: Vec<u8>,
    new: Vec<u8>,
    bundle: Vec<u8>,
    header: BundleHeader,
}

/// OLD, a NEW with every 5th byte changed and a tail, and the bundle between them in 4 KiB
/// chunks.
fn pair(seed: u64) -> Pair {
    let old = synthetic_model(200_000, seed);
    let mut new = old.clone();
    for (i, byte) in new.iter_mut().enumerate().step_by(5) {
        *byte = byte.wrapping_add(i as u8 | 1);
    }
    new.extend_from_slice(&synthetic_model(30_000, seed + 1));
    let identity = BundleIdentity {
        security_counter: 2,
        ..BundleIdentity::default()
    };
    let bundle = raw_delta_bundle(&old, &new, identity, 4096);
    let header = BundleHeader::parse(bundle[..HEADER_LEN].try_into().unwrap()).unwrap();
    Pair {
        old,
        new,
        bundle,
        header,
    }
}

fn sibling(output: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Applies the first `len` bytes of the bundle (a download cut short): the run fails keeping
/// its progress, and the output is untouched.
fn interrupted(pair: &Pair, len: usize, output: &Path) {
    let error = apply_to_file(
        &pair.bundle[..len],
        &pair.header,
        &pair.old,
        output,
        &OPTIONS,
    )
    .expect_err("a truncated bundle cannot complete");
    assert!(
        matches!(error, FileApplyError::Runtime(Error::PayloadTruncated)),
        "{error}"
    );
    assert!(error.keeps_progress());
    assert_eq!(
        std::fs::read(output).unwrap(),
        b"running model",
        "output touched"
    );
    assert!(sibling(output, ".mallorn-partial").exists());
}

#[test]
fn a_run_cut_short_resumes_from_its_last_record_and_ends_byte_exact() {
    let pair = pair(7);
    let payload = pair.bundle.len() - SIGNED_BUNDLE_PREFIX;
    let folder = tempfile::tempdir().unwrap();
    for percent in [25, 50, 90] {
        let output = folder.path().join(format!("model-{percent}.bin"));
        std::fs::write(&output, b"running model").unwrap();
        interrupted(
            &pair,
            SIGNED_BUNDLE_PREFIX + payload * percent / 100,
            &output,
        );
        // A kill after the last record leaves result bytes it does not cover: they are redone.
        let partial = sibling(&output, ".mallorn-partial");
        let mut left = std::fs::read(&partial).unwrap();
        left.extend_from_slice(&[0xA5; 3000]);
        std::fs::write(&partial, left).unwrap();

        let applied = apply_to_file(&pair.bundle, &pair.header, &pair.old, &output, &OPTIONS)
            .expect("the whole bundle resumes");
        let from = applied.resumed_from.expect("resumed from the record");
        assert!(from > 0 && from % 4096 == 0, "resumed at {from}");
        assert_eq!(std::fs::read(&output).unwrap(), pair.new);
        for suffix in [".mallorn-partial", ".mallorn-resume"] {
            assert!(!sibling(&output, suffix).exists(), "{suffix} left behind");
        }
    }
}

#[test]
fn a_whole_run_records_checkpoints_and_leaves_only_the_output() {
    let pair = pair(8);
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("model.bin");
    let applied = apply_to_file(&pair.bundle, &pair.header, &pair.old, &output, &OPTIONS).unwrap();
    assert_eq!(applied.resumed_from, None);
    assert!(applied.checkpoints >= 10, "{} records", applied.checkpoints);
    assert_eq!(std::fs::read(&output).unwrap(), pair.new);
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 1);
}

#[test]
fn a_damaged_partial_result_is_refused_discarded_and_then_rebuilt() {
    let pair = pair(9);
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("model.bin");
    std::fs::write(&output, b"running model").unwrap();
    interrupted(&pair, pair.bundle.len() * 3 / 4, &output);
    let partial = sibling(&output, ".mallorn-partial");
    let mut damaged = std::fs::read(&partial).unwrap();
    damaged[100] ^= 0x40;
    std::fs::write(&partial, damaged).unwrap();

    let error = apply_to_file(&pair.bundle, &pair.header, &pair.old, &output, &OPTIONS)
        .expect_err("a damaged prefix cannot give the signed result");
    assert!(
        matches!(error, FileApplyError::Runtime(Error::ResultHashMismatch)),
        "{error}"
    );
    assert_eq!(std::fs::read(&output).unwrap(), b"running model");
    assert!(!partial.exists() && !sibling(&output, ".mallorn-resume").exists());

    let applied = apply_to_file(&pair.bundle, &pair.header, &pair.old, &output, &OPTIONS).unwrap();
    assert_eq!(applied.resumed_from, None);
    assert_eq!(std::fs::read(&output).unwrap(), pair.new);
}

#[test]
fn the_record_of_another_bundle_is_ignored() {
    let (first, second) = (pair(10), pair(11));
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("model.bin");
    std::fs::write(&output, b"running model").unwrap();
    interrupted(&first, first.bundle.len() / 2, &output);
    let applied = apply_to_file(
        &second.bundle,
        &second.header,
        &second.old,
        &output,
        &OPTIONS,
    )
    .unwrap();
    assert_eq!(applied.resumed_from, None);
    assert_eq!(std::fs::read(&output).unwrap(), second.new);
}

/// Links planted where an apply writes (`<output>.mallorn-partial`, the record written
/// beside `<output>.mallorn-resume`), pointing at another file: the apply never writes
/// through them, the file they point at stays as it was, and the result is still right.
#[test]
fn a_link_planted_beside_the_output_never_redirects_a_write() {
    let pair = pair(12);
    let folder = tempfile::tempdir().unwrap();
    let victim = folder.path().join("base-model.bin");
    type Link = fn(&Path, &Path) -> std::io::Result<()>;
    let links: [(&str, Link); 2] = [
        ("symlink", |from, to| std::os::unix::fs::symlink(from, to)),
        ("hard link", |from, to| std::fs::hard_link(from, to)),
    ];
    for (kind, link) in links {
        for (suffix, resume) in [
            (".mallorn-partial", false),
            (".mallorn-partial", true),
            (".mallorn-resume.next", false),
        ] {
            let case = format!("{kind} as {suffix}, resuming: {resume}");
            std::fs::write(&victim, &pair.old).unwrap();
            let output = folder.path().join("model.bin");
            std::fs::write(&output, b"running model").unwrap();
            if resume {
                interrupted(&pair, pair.bundle.len() / 2, &output);
            }
            let planted = sibling(&output, suffix);
            let _ = std::fs::remove_file(&planted);
            link(&victim, &planted).unwrap();

            let applied = apply_to_file(&pair.bundle, &pair.header, &pair.old, &output, &OPTIONS);
            assert!(
                std::fs::read(&victim).unwrap() == pair.old,
                "{case}: written through"
            );
            applied.unwrap_or_else(|e| panic!("{case}: {e}"));
            assert!(std::fs::read(&output).unwrap() == pair.new, "{case}");
            let _ = std::fs::remove_file(&planted);
        }
    }
}

/// Two applies of the same bundle to the same output at once (a service restarted while its
/// old instance still runs, two updaters in one folder): the output only ever ends as the
/// checked result, and a run that overlaps another is refused, keeping the other's progress.
#[test]
fn concurrent_applies_to_one_output_never_publish_a_mixed_result() {
    let old = synthetic_model(3 << 20, 13);
    let mut new = old.clone();
    for (i, byte) in new.iter_mut().enumerate().step_by(3) {
        *byte = byte.wrapping_add(i as u8 | 1);
    }
    let identity = BundleIdentity {
        security_counter: 2,
        ..BundleIdentity::default()
    };
    let bundle = raw_delta_bundle(&old, &new, identity, 4096);
    let header = BundleHeader::parse(bundle[..HEADER_LEN].try_into().unwrap()).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let output = folder.path().join("model.bin");
    for round in 0..8 {
        std::fs::write(&output, b"running model").unwrap();
        let start = std::sync::Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        apply_to_file(&bundle, &header, &old, &output, &OPTIONS)
                    })
                })
                .collect();
            runs.into_iter().map(|run| run.join().unwrap()).collect()
        });
        let published = std::fs::read(&output).unwrap();
        assert!(
            published == new || published == b"running model",
            "round {round}: the output holds neither model"
        );
        for result in &results {
            if let Err(error) = result {
                assert!(error.keeps_progress(), "round {round}: {error}");
                assert!(
                    matches!(error, FileApplyError::Busy { .. }),
                    "round {round}: {error}"
                );
            }
        }
        // Whatever was refused, running it again ends with the new model.
        apply_to_file(&bundle, &header, &old, &output, &OPTIONS).unwrap();
        assert!(std::fs::read(&output).unwrap() == new, "round {round}");
    }
}
