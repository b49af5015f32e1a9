//! `cargo mallorn simulate` on examples/wakeword-device: one SKU, every 16th cut point of the
//! sweep (the full run is a CI step), the summary line on stdout and progress on stderr.
//! (The simulation writes only into a temporary directory, so the example is used in place.)

mod common;

use std::path::Path;

use common::mallorn;

/// The numbers of `simulate: N runs, C cut points, F faults injected, B bricked, W wedged,
/// M mixed`.
fn figures(line: &str) -> Vec<u64> {
    line.trim_start_matches("simulate: ")
        .split(", ")
        .map(|part| part.split(' ').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn one_sku_sampled_passes_and_prints_one_line() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/wakeword-device");
    let manifest = example.join("Mallorn.toml");
    let run = mallorn(
        &example,
        &[
            "mallorn",
            "simulate",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--target",
            "wakeword-m4-1mb",
            "--sample",
            "16",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    assert!(lines[0].starts_with("simulate: "), "{}", lines[0]);
    let numbers = figures(lines[0]);
    assert_eq!(numbers.len(), 6, "{}", lines[0]);
    let [runs, cuts, faults, bricked, wedged, mixed] = numbers[..] else {
        unreachable!()
    };
    assert!(runs > 100 && cuts > 50 && faults > 50, "{}", lines[0]);
    assert_eq!((bricked, wedged, mixed), (0, 0, 0));
    // Per-bundle progress on stderr, for both models of the SKU only.
    assert!(
        run.stderr.contains("wakeword-m4-1mb/okay-nabu"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("wakeword-m4-1mb/micro-speech"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wakeword-s3-8mb"), "{}", run.stderr);
    // The SKU's boot policy (Mallorn.toml: `trial-boots = 2`, `verify-trial-boot = true`) is
    // the one the simulated firmware boots with.
    assert!(
        run.stderr
            .lines()
            .filter(|line| line.starts_with('['))
            .all(|line| line.contains(", 2 trial boots verified (")),
        "{}",
        run.stderr
    );
}
