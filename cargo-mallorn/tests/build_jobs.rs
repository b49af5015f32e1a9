//! A build spread over a CI matrix, as users run it on private copies of
//! examples/wakeword-device: `plan --json` lists the jobs, each `build --job ID --out-dir DIR`
//! runs as its own process into its own directory, and `build --merge DIR...` assembles an
//! output byte-identical to a one-machine build. Merges of an incomplete, duplicated, damaged
//! or foreign set of job directories are refused and write nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Run, example, mallorn};
use mallorn_tests::tree;

/// The job ids `plan --json` lists.
fn job_ids(dir: &Path) -> Vec<String> {
    let run = mallorn(dir, &["plan", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let jobs: Vec<String> = plan["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let bundles = plan["bundles"].as_array().unwrap();
    assert_eq!(jobs.len(), bundles.len(), "one job per bundle");
    for (id, bundle) in jobs.iter().zip(bundles) {
        assert_eq!(bundle["job"], id.as_str());
    }
    jobs
}

/// Runs job `id` in its own process into `jobs/<id>` under `root`; returns that directory.
fn run_job(dir: &Path, root: &Path, id: &str) -> PathBuf {
    let out = root.join(id);
    let run = mallorn(
        dir,
        &["build", "--job", id, "--out-dir", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "job {id}: {}", run.stderr);
    assert!(
        run.stdout.contains(&format!("built job {id}")),
        "{}",
        run.stdout
    );
    out
}

fn merge(dir: &Path, job_dirs: &[&Path]) -> Run {
    let mut args = vec!["build", "--merge"];
    args.extend(job_dirs.iter().map(|d| d.to_str().unwrap()));
    mallorn(dir, &args)
}

/// The generated files committed in the example's source tree.
fn source_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(&dir.join("firmware"))
}

#[test]
fn every_job_in_its_own_process_merges_into_the_one_machine_build() {
    let one_shot = example();
    let run = mallorn(one_shot.path(), &["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = tree(&one_shot.path().join("target/mallorn"));

    let split = example();
    // Stale committed copies, so that the merge has source-tree files to write.
    std::fs::remove_dir_all(split.path().join("firmware/link")).unwrap();
    let ids = job_ids(split.path());
    assert_eq!(ids.len(), 14);
    assert!(ids.contains(&"wakeword-m4-1mb~okay-nabu~2.1.0".to_owned()));
    assert!(ids.contains(&"wakeword-s3-8mb~micro-speech~full".to_owned()));
    let jobs_root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = ids
        .iter()
        .map(|id| run_job(split.path(), jobs_root.path(), id))
        .collect();
    for dir in &dirs {
        // The job file and the one bundle the job publishes.
        let files = tree(dir);
        assert_eq!(files.len(), 2, "{}: {:?}", dir.display(), files.keys());
        assert!(files.contains_key("mallorn-job.json"));
    }
    assert!(
        !split.path().join("target/mallorn").exists(),
        "a job publishes nothing"
    );

    // The merge signs nothing: it runs without the private key (a CI merge step need not
    // hold the secret), taking the signer's id from the bundles the jobs signed.
    let private_key = split.path().join("keys/example-release.pem");
    let away = jobs_root.path().join("example-release.pem");
    std::fs::rename(&private_key, &away).unwrap();
    let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let merged = merge(split.path(), &dirs);
    std::fs::rename(&away, &private_key).unwrap();
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert!(
        merged
            .stdout
            .contains("merged 14 bundles from 14 job directories into target/mallorn"),
        "{}",
        merged.stdout
    );
    let actual = tree(&split.path().join("target/mallorn"));
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &expected {
        assert!(
            actual[path] == *bytes,
            "{path} differs from the one-machine build"
        );
    }
    assert_eq!(source_tree(split.path()), source_tree(one_shot.path()));

    // The merged output is the build's: a build finds nothing to do.
    let again = mallorn(split.path(), &["build"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("is up to date"), "{}", again.stdout);
}

#[test]
fn a_lossy_build_merges_with_its_shipped_images_and_gate() {
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=3 {
        let (bytes, _) = mallorn_tests::lossy_lineage::release(n);
        std::fs::write(dir.path().join(format!("r{n}.safetensors")), bytes).unwrap();
    }
    let gate = "[model.gate]\ncommand = [\"sh\", \"-c\", \"echo 0.97\"]\nthreshold = 0.9\n";
    let manifest = mallorn_tests::lossy_lineage::manifest(3, gate);
    std::fs::write(dir.path().join("Mallorn.toml"), manifest).unwrap();
    let unsigned = ["build", "--allow-unsigned"];
    let run = mallorn(dir.path(), &unsigned);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = dir.path().join("target/mallorn");
    let expected = tree(&out);
    assert!(
        expected.keys().any(|p| p.starts_with("shipped/")),
        "{:?}",
        expected.keys()
    );
    std::fs::remove_dir_all(&out).unwrap();

    let root = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for id in job_ids(dir.path()) {
        let job_dir = root.path().join(&id);
        let args = ["build", "--allow-unsigned", "--job", &id, "--out-dir"];
        let run = mallorn(
            dir.path(),
            &[&args[..], &[job_dir.to_str().unwrap()]].concat(),
        );
        assert_eq!(run.code, 0, "job {id}: {}", run.stderr);
        dirs.push(job_dir);
    }
    let mut args = vec!["build", "--allow-unsigned", "--merge"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    let merged = mallorn(dir.path(), &args);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert!(tree(&out) == expected, "the merged lossy output differs");
}

/// A copy of `src` (a job directory) at `dest`.
fn copy(src: &Path, dest: &Path) -> PathBuf {
    mallorn_tests::copy_dir(src, dest);
    dest.to_owned()
}

/// Rewrites one field of a job directory's job file.
fn edit_job_file(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("mallorn-job.json");
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut record);
    std::fs::write(path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
}

/// A merge that fails names `needles` and the fix, and publishes nothing.
fn refused(dir: &Path, job_dirs: &[&Path], needles: &[&str]) {
    let run = merge(dir, job_dirs);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // miette wraps lines (at spaces and at hyphens): compare without whitespace and borders.
    let squeezed = |text: &str| -> String {
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '│')
            .collect()
    };
    let stderr = squeezed(&run.stderr);
    for needle in needles {
        assert!(
            stderr.contains(&squeezed(needle)),
            "no `{needle}` in: {}",
            run.stderr
        );
    }
    assert!(stderr.contains("help:"), "{}", run.stderr);
    let target = dir.join("target");
    let published: Vec<_> = std::fs::read_dir(&target)
        .map(|entries| entries.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        published
            .iter()
            .all(|name| name != "mallorn" && !name.to_string_lossy().starts_with(".mallorn-")),
        "a refused merge left {published:?}"
    );
}

#[test]
fn merges_refuse_incomplete_duplicated_damaged_and_foreign_job_directories() {
    let dir = example();
    let ids = job_ids(dir.path());
    let root = tempfile::tempdir().unwrap();
    let delta = run_job(
        dir.path(),
        root.path(),
        "wakeword-m4-1mb~micro-speech~1.0.0",
    );
    let full = run_job(dir.path(), root.path(), "wakeword-m4-1mb~micro-speech~full");
    let path = |p: &Path| p.display().to_string();

    // Two of fourteen: the other twelve are named.
    refused(
        dir.path(),
        &[&delta, &full],
        &[
            "12 of 14 jobs have no job directory",
            &ids[0],
            "cargo mallorn build --job ID",
        ],
    );
    // The same job twice, from two downloads.
    let twin = copy(&delta, &root.path().join("download-2"));
    refused(
        dir.path(),
        &[&delta, &twin, &full],
        &[
            "is in two directories",
            &path(&delta),
            &path(&twin),
            "pass each job's directory once",
        ],
    );
    // Not there, and not a job directory.
    let absent = root.path().join("never-downloaded");
    refused(dir.path(), &[&absent], &[&path(&absent), "does not exist"]);
    let stray = root.path().join("stray");
    std::fs::create_dir(&stray).unwrap();
    refused(
        dir.path(),
        &[&stray],
        &[&path(&stray), "has no mallorn-job.json"],
    );
    // A bundle changed after the job wrote it.
    let damaged = copy(&delta, &root.path().join("damaged"));
    let bundle = damaged.join("wakeword-m4-1mb/micro-speech/micro-speech-1.0.0-to-1.1.0.mlrn");
    let mut bytes = std::fs::read(&bundle).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    refused(
        dir.path(),
        &[&damaged],
        &[&path(&damaged), "is damaged", "run that job again"],
    );
    // A job the build does not plan, and one built by another mallorn executable.
    let unknown = copy(&full, &root.path().join("unknown"));
    edit_job_file(&unknown, |r| {
        r["job"] = "wakeword-m4-1mb~micro-speech~0.9.0".into()
    });
    refused(
        dir.path(),
        &[&unknown],
        &[&path(&unknown), "which this build does not plan"],
    );
    let other_tool = copy(&full, &root.path().join("other-tool"));
    edit_job_file(&other_tool, |r| {
        r["stamp"]["tool"] = "mallorn 0.0.1 0123".into()
    });
    refused(
        dir.path(),
        &[&other_tool],
        &[
            &path(&other_tool),
            "by another mallorn executable",
            "same mallorn executable",
        ],
    );

    // The merge reads no private key, so it checks every bundle's signature: a job signed
    // with a key Mallorn.toml does not trust, or with another trusted key than the rest.
    let manifest = dir.path().join("Mallorn.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let keygen = mallorn(dir.path(), &["keygen", "-o", "keys/other.pem"]);
    assert_eq!(keygen.code, 0, "{}", keygen.stderr);
    let trusts_other = text.replace(
        "\"keys/example-next.pem.pub\"]",
        "\"keys/example-next.pem.pub\", \"keys/other.pem.pub\"]",
    );
    assert_ne!(trusts_other, text);
    let signs_with_other = trusts_other.replace(
        "key-file = \"keys/example-release.pem\"",
        "key-file = \"keys/other.pem\"",
    );
    assert_ne!(signs_with_other, trusts_other);
    std::fs::write(&manifest, &signs_with_other).unwrap();
    let other_key = run_job(
        dir.path(),
        &root.path().join("other-key"),
        "wakeword-m4-1mb~micro-speech~full",
    );
    std::fs::write(&manifest, &text).unwrap();
    refused(
        dir.path(),
        &[&other_key],
        &[
            &path(&other_key),
            "does not verify against [signing] trusted-keys",
            "run that job again with the [signing] key",
        ],
    );
    std::fs::write(&manifest, &trusts_other).unwrap();
    refused(
        dir.path(),
        &[&delta, &other_key],
        &[
            &path(&delta),
            &path(&other_key),
            "are signed with different keys",
            "run every job with the same [signing] key",
        ],
    );
    std::fs::write(&manifest, &text).unwrap();

    // Jobs built before Mallorn.toml changed do not belong to the new build.
    let changed = text.replace("full-image-threshold = 0.9", "full-image-threshold = 0.8");
    assert_ne!(changed, text);
    std::fs::write(&manifest, changed).unwrap();
    refused(
        dir.path(),
        &[&full],
        &[
            &path(&full),
            "wakeword-m4-1mb~micro-speech~full",
            "from another Mallorn.toml",
            "same commit",
        ],
    );
}

#[test]
fn an_unknown_job_id_names_where_the_ids_come_from() {
    let dir = example();
    let run = mallorn(dir.path(), &["build", "--job", "wakeword-m4-1mb/okay-nabu"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no job `wakeword-m4-1mb/okay-nabu` in this build (it has 14 jobs)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cargo mallorn plan --json"),
        "{}",
        run.stderr
    );
    assert!(
        !dir.path().join("target").exists(),
        "a refused job wrote something"
    );
}
