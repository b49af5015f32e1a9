//! A signing key can come from an environment variable (a CI secret) instead of a file. The
//! test re-runs itself as a child process with the variable set, because changing the
//! environment of a running multi-threaded test is not sound.

use std::process::Command;

use mallorn_engine::signing::{KeyError, KeySource, SIGNING_KEY_ENV, SigningKey, hex};

const CHILD_EXPECTS: &str = "MALLORN_TEST_EXPECTED_KEY_ID";
const THIS_TEST: &str = "signing_key_comes_from_the_environment";

fn run_child(pem: &str, expected: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", THIS_TEST, "--nocapture"])
        .env(SIGNING_KEY_ENV, pem)
        .env(CHILD_EXPECTS, expected)
        .output()
        .unwrap()
}

#[test]
fn signing_key_comes_from_the_environment() {
    if let Ok(expected) = std::env::var(CHILD_EXPECTS) {
        let source = KeySource::resolve(None).expect("the variable is set");
        assert_eq!(source, KeySource::Env(SIGNING_KEY_ENV.into()));
        match source.load() {
            Ok(key) => assert_eq!(hex(&key.key_id()), expected),
            Err(err) => {
                let message = err.to_string();
                assert_eq!(expected, "error", "{message}");
                assert!(matches!(err, KeyError::BadPrivateKey { .. }));
                assert!(message.contains(SIGNING_KEY_ENV), "{message}");
            }
        }
        return;
    }
    let key = SigningKey::from_seed(&[0x5e; 32]).unwrap();
    let good = run_child(&key.to_pkcs8_pem(), &hex(&key.key_id()));
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    let garbage = run_child(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "error",
    );
    assert!(
        garbage.status.success(),
        "{}",
        String::from_utf8_lossy(&garbage.stdout)
    );
    // And the child really checks: a wrong expectation fails it.
    let wrong = run_child(&key.to_pkcs8_pem(), "0000000000000000");
    assert!(!wrong.status.success());
}

#[test]
fn a_missing_variable_is_named_in_the_error() {
    let err = KeySource::Env("MALLORN_TEST_SURELY_UNSET_VARIABLE".into())
        .load()
        .unwrap_err();
    assert!(matches!(err, KeyError::EnvMissing { .. }));
    assert!(
        err.to_string()
            .contains("MALLORN_TEST_SURELY_UNSET_VARIABLE")
    );
}

#[test]
fn a_key_file_wins_over_the_variable() {
    let path = std::path::Path::new("release.pem");
    assert_eq!(
        KeySource::resolve(Some(path)),
        Some(KeySource::File(path.to_owned()))
    );
}
