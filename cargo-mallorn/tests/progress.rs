//! `diff` and `apply` show a spinner on stderr for inputs of several MiB, only when stderr is a
//! terminal (here a pseudo-terminal from util-linux `script`), never when it is piped.

use std::path::Path;
use std::process::Command;

/// Runs `cargo-mallorn <args>` in `dir` with a pseudo-terminal as stdin, stdout and stderr;
/// returns everything it drew, or `None` where `script` is not installed.
fn on_a_terminal(dir: &Path, args: &str) -> Option<String> {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_cargo-mallorn"));
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .ok()?;
    assert!(output.status.success(), "{output:?}");
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn piped(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-mallorn"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn large_inputs_show_a_spinner_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old: Vec<u8> = (0..6u32 << 20)
        .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
        .collect();
    let mut new = old.clone();
    new[1 << 20] ^= 0x55;
    std::fs::write(d.join("old.bin"), &old).unwrap();
    std::fs::write(d.join("new.bin"), &new).unwrap();
    std::fs::write(d.join("small.bin"), &old[..1 << 16]).unwrap();

    let Some(drawn) = on_a_terminal(d, "diff old.bin new.bin -o b.mlrn --unsigned --format raw")
    else {
        eprintln!("skipped: `script` is not installed");
        return;
    };
    assert!(drawn.contains("encoding 6.0 MiB"), "{drawn}");
    let drawn = on_a_terminal(d, "apply old.bin b.mlrn -o out.bin --allow-unsigned").unwrap();
    assert!(drawn.contains("applying 6.0 MiB"), "{drawn}");
    assert_eq!(std::fs::read(d.join("out.bin")).unwrap(), new);

    // Small inputs, or stderr not a terminal: no spinner.
    let drawn = on_a_terminal(
        d,
        "diff small.bin small.bin -o s.mlrn --unsigned --format raw",
    )
    .unwrap();
    assert!(!drawn.contains("encoding"), "{drawn}");
    let err = piped(
        d,
        &[
            "diff",
            "old.bin",
            "new.bin",
            "-o",
            "p.mlrn",
            "--unsigned",
            "--format",
            "raw",
        ],
    );
    assert!(!err.contains("encoding"), "{err}");
}
